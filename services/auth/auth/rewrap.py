"""python -m auth.rewrap: re-encrypt every stored TOTP seed under the keyvault's current key
version (RewrapSecret: auth never sees a plaintext seed), so an old key version can be retired.
Run it after `python -m keyvault.admin rotate`; it is safe to run again or while serving."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from svccommon import logs, mongo
from svccommon.config import load_or_exit

from auth.config import load
from auth.secretbox import KeyvaultSecretBox, SecretBox
from auth.store.accounts import AccountStore

log = logging.getLogger("auth.rewrap")


@dataclass
class Report:
    rewrapped: int = 0
    skipped: int = 0  # changed meanwhile (2FA turned off or set up again): nothing to do
    failed: list[str] = field(default_factory=list)


def rewrap_all(accounts: AccountStore, box: SecretBox) -> Report:
    report = Report()
    for doc in accounts.with_totp():
        old = doc["totp"]["secret"]
        try:
            new = box.rewrap(doc["_id"], old)
        except Exception as exc:
            log.error("rewrap failed", extra={"target_id": doc["_id"], "error_type": type(exc).__name__})
            report.failed.append(doc["_id"])
            continue
        if accounts.replace_totp_secret(doc["_id"], old, new):
            report.rewrapped += 1
        else:
            report.skipped += 1
    return report


def main() -> None:
    cfg = load_or_exit(load)
    logs.configure("auth", cfg.common.log_level)
    db = mongo.connect(cfg.common)
    box = KeyvaultSecretBox.connect(cfg.keyvault_addr, cfg.common.tls)
    try:
        report = rewrap_all(AccountStore(db), box)
    finally:
        box.close()
        db.client.close()
    print(f"rewrapped {report.rewrapped} TOTP seed(s); skipped {report.skipped}; failed {len(report.failed)}")
    if report.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
