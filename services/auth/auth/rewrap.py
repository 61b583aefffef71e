"""python -m auth.rewrap: re-encrypt every keyvault ciphertext auth stores (confirmed and pending
TOTP seeds, auth.store.accounts.secrets) under the keyvault's current key version (RewrapSecret: auth
never sees a plaintext seed), so an old key version can be retired.

It runs as a census: keyvault starts one, every stored value is re-encrypted, and then auth
reports how many values it holds under each key version. Keyvault then forgets the versions it
saw auth use before the census started, so `keyvault.admin retire` counts only what is really
stored. A run with failures reports nothing (keyvault keeps counting the old versions as used).
Run it after `python -m keyvault.admin rotate` (and rewrap); it is safe to run again or while
serving: a value changed meanwhile is looked at again once the pass is done."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from svccommon import logs, mongo
from svccommon.config import load_or_exit

from auth.clients.keyvault_secretbox import KeyvaultSecretBox
from auth.config import load
from auth.store.accounts import EncryptedFields

log = logging.getLogger("auth.rewrap")


@dataclass
class Report:
    rewrapped: int = 0
    skipped: int = 0  # changed meanwhile (2FA set up again, confirmed or turned off): looked at again
    failed: list[str] = field(default_factory=list)
    by_version: Counter[int] = field(default_factory=Counter)  # values stored under each version
    reported: bool = False


def rewrap_all(fields: EncryptedFields, box: KeyvaultSecretBox) -> Report:
    report = Report()
    started_at = box.start_census()
    produced: set[bytes] = set()  # ciphertexts this run stored
    changed = [v[0] for v in fields.each() if not _rewrap(fields, box, *v, report, produced)]
    # A value that changed while we worked (confirmed, set up again) may be one the census has
    # not seen sealed: rewrap what the account holds now.
    for account_id in dict.fromkeys(changed):
        for value in fields.of(account_id):
            if value[2] not in produced and not _rewrap(fields, box, *value, report, produced):
                report.failed.append(f"{account_id} {value[1]} (changed again meanwhile)")
    if not report.failed:
        box.finish_census(started_at, report.by_version)
        report.reported = True
    return report


def _rewrap(
    fields: EncryptedFields,
    box: KeyvaultSecretBox,
    account_id: str,
    name: str,
    old: bytes,
    report: Report,
    produced: set[bytes],
) -> bool:
    """Re-encrypt one stored value; False when it changed meanwhile (not replaced)."""
    try:
        new, version = box.reseal(account_id, old)
    except Exception as exc:
        log.error(
            "rewrap failed", extra={"target_id": account_id, "field": name, "error_type": type(exc).__name__}
        )
        report.failed.append(f"{account_id} {name}")
        return True  # counted as failed, not as changed
    if not fields.replace(account_id, name, old, new):
        report.skipped += 1
        return False
    produced.add(new)
    report.rewrapped += 1
    report.by_version[version] += 1
    return True


def main() -> None:
    cfg = load_or_exit(load)
    logs.configure("auth", cfg.common.log_level)
    db = mongo.connect(cfg.common)
    box = KeyvaultSecretBox.connect(cfg.keyvault_addr, cfg.common.tls)
    try:
        report = rewrap_all(EncryptedFields(db), box)
    finally:
        box.close()
        db.client.close()
    print(
        f"rewrapped {report.rewrapped} TOTP secret(s) (confirmed and pending); "
        f"skipped {report.skipped}; failed {len(report.failed)}"
    )
    if report.failed:
        print("not reported to keyvault: the old key version still counts as used; run this again")
        raise SystemExit(1)
    versions = ", ".join(f"version {v}: {n}" for v, n in sorted(report.by_version.items())) or "none"
    print(f"reported to keyvault: {versions}")


if __name__ == "__main__":
    main()
