"""python -m usage.alerts.rewrap: re-encrypt every alert destination's sealed secret (webhook URL
and signing secret, Slack URL; collection `alert_destinations`, field `sealed`) under the
keyvault's current key version (RewrapSecret: usage never sees the plaintext), so an old key
version can be retired.

It runs as a census, like `python -m auth.rewrap`: keyvault starts one, every destination is
re-encrypted, then usage reports how many secrets it holds under each key version, and keyvault
forgets the versions it saw usage use before the census started (`keyvault.admin retire` counts
only what is really stored). A run with failures reports nothing: keyvault keeps counting the
old versions as used. Run it after `python -m keyvault.admin rotate`; it is safe to run again or
while serving: a destination deleted meanwhile is skipped, one re-sealed meanwhile (a delivery
moves a stale secret itself) is read again and moved."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from svccommon import logs, mongo
from svccommon.config import load_or_exit

from usage.alerts.destinationstore import DestinationStore
from usage.clients.keyvault_sealing import DestinationSecrets
from usage.config import load

log = logging.getLogger("usage.alerts.rewrap")

# A destination re-sealed this many times while we worked on it is reported as failed (the
# next run gets it): a bounded loop, whatever the deliveries do.
MAX_ATTEMPTS = 3


class Sealer(Protocol):
    def reseal(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[bytes, int]: ...
    def start_census(self) -> dt.datetime: ...
    def finish_census(self, started_at: dt.datetime, by_version: Mapping[int, int]) -> None: ...


class SealedDestinations(Protocol):
    def ids(self) -> list[str]: ...
    def sealed_of(self, destination_id: str) -> tuple[str, bytes] | None: ...
    def replace_sealed(self, destination_id: str, old: bytes, new: bytes) -> bool: ...


class StoredDestinations:
    """Every account's destinations, as the job needs them (ids first, each read when its turn
    comes, so the scan never races a cursor against our own writes)."""

    def __init__(self, store: DestinationStore) -> None:
        self.store = store

    def ids(self) -> list[str]:
        return [d["_id"] for d in self.store.destinations.find({}, {"_id": 1}).sort("_id", 1)]

    def sealed_of(self, destination_id: str) -> tuple[str, bytes] | None:
        doc = self.store.destinations.find_one({"_id": destination_id}, {"account_id": 1, "sealed": 1})
        return (doc["account_id"], bytes(doc["sealed"])) if doc else None

    def replace_sealed(self, destination_id: str, old: bytes, new: bytes) -> bool:
        return self.store.replace_sealed(destination_id, old, new)


@dataclass
class Report:
    rewrapped: int = 0
    deleted: int = 0  # deleted while the job ran: nothing left to move
    failed: list[str] = field(default_factory=list)  # destination ids
    by_version: Counter[int] = field(default_factory=Counter)  # secrets stored under each version
    reported: bool = False


def rewrap_all(destinations: SealedDestinations, secrets: Sealer) -> Report:
    report = Report()
    started_at = secrets.start_census()
    for destination_id in destinations.ids():
        _move(destinations, secrets, destination_id, report)
    if not report.failed:
        secrets.finish_census(started_at, report.by_version)
        report.reported = True
    return report


def _move(destinations: SealedDestinations, secrets: Sealer, destination_id: str, report: Report) -> None:
    for _ in range(MAX_ATTEMPTS):
        current = destinations.sealed_of(destination_id)
        if current is None:
            report.deleted += 1
            return
        account_id, old = current
        try:
            new, version = secrets.reseal(account_id, destination_id, old)
        except Exception as exc:
            log.error(
                "rewrap failed",
                extra={"target_id": destination_id, "error_type": type(exc).__name__},
            )
            report.failed.append(destination_id)
            return
        if destinations.replace_sealed(destination_id, old, new):
            report.rewrapped += 1
            report.by_version[version] += 1
            return
        # Deleted or re-sealed meanwhile: the next read tells which.
    report.failed.append(destination_id)


def main() -> None:
    cfg = load_or_exit(load)
    logs.configure("usage", cfg.common.log_level)
    db = mongo.connect(cfg.common)
    secrets = DestinationSecrets.connect(cfg.keyvault_addr, cfg.common.tls)
    try:
        report = rewrap_all(StoredDestinations(DestinationStore(db)), secrets)
    finally:
        secrets.close()
        db.client.close()
    print(
        f"rewrapped {report.rewrapped} alert destination secret(s); "
        f"skipped {report.deleted} (deleted meanwhile); failed {len(report.failed)}"
    )
    if report.failed:
        print("not reported to keyvault: the old key version still counts as used; run this again")
        raise SystemExit(1)
    versions = ", ".join(f"version {v}: {n}" for v, n in sorted(report.by_version.items())) or "none"
    print(f"reported to keyvault: {versions}")


if __name__ == "__main__":
    main()
