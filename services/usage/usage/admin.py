"""Operator commands for the day rollups:  python -m usage.admin status|rebuild [ACCOUNT ...]

Reads the same environment as the service (MONGODB_URI, MONGODB_DATABASE).
  status            accounts with records, how many have their rollups built, days still pending
  rebuild [ID ...]  rebuild the rollups of these accounts (default: every account that has
                    records) from the records. Safe while the service runs: a rebuild takes a
                    revision ticket like any writer, so a concurrent write is never undone.

Summaries build an account's rollups on its first read anyway; `rebuild` does it ahead of time,
for example after an upgrade that introduced them, so no user waits for the first read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pymongo import MongoClient
from svccommon.config import env_str

from usage.recordstore import RecordStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m usage.admin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="how many accounts have their rollups built")
    rebuild = commands.add_parser("rebuild", help="rebuild rollups from the records")
    rebuild.add_argument("accounts", nargs="*", help="account ids (default: every account with records)")
    args = parser.parse_args(argv)
    uri = env_str(os.environ, "MONGODB_URI", "mongodb://127.0.0.1:27117/")
    client: MongoClient = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    store = RecordStore(client[env_str(os.environ, "MONGODB_DATABASE", "aicosts_usage")])
    accounts = sorted(store.records.distinct("account_id"))
    if args.command == "status":
        stamps = {s["_id"]: s for s in store.rollup_store.stamps.find({}, {"built": 1, "pending": 1})}
        built = [a for a in accounts if stamps.get(a, {}).get("built")]
        pending = sum(1 for s in stamps.values() for tokens in (s.get("pending") or {}).values() if tokens)
        print(f"accounts with records: {len(accounts)}; rollups built: {len(built)}; days pending: {pending}")
        return 0
    for account in args.accounts or accounts:
        started = time.monotonic()
        days = store.rollups.rebuild_account(account)
        print(f"{account}: {days} days rebuilt in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
