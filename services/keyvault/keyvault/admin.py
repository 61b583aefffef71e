"""Operator commands for the keyring:  python -m keyvault.admin status|rotate|rewrap|retire VERSION

Reads the same environment as the service: KEYVAULT_KEYRING_FILE, MONGODB_URI, MONGODB_DATABASE.
  status            versions, which is current, and what uses each (credentials; other
                    services' secrets as their owner's last census counted them, or seen since)
  rotate            add a new version and make it current (a running keyvault picks it up)
  rewrap            re-encrypt every credential under the current version (no plaintext output)
  retire VERSION    stop a version decrypting; first stops every replica sealing under versions
                    below the current one (the seal floor), then refuses while anything uses it
rotate/retire rewrite the file in place, or with --output write the new file elsewhere ("-" =
stdout) for a read-only mount such as a Kubernetes Secret. Each change writes an audit event.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError
from svccommon.audit import AuditLog, Outcome
from svccommon.config import ConfigError, env_str

from keyvault import keyring
from keyvault.config import KEYRING_ENV
from keyvault.keyring import Keyring, KeyringError
from keyvault.rewrap import rewrap_credentials
from keyvault.store import CredentialStore

DB_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class AdminConfig:
    keyring_file: Path
    mongodb_uri: str
    mongodb_database: str


def load_config(env: Mapping[str, str]) -> AdminConfig:
    return AdminConfig(
        keyring_file=Path(env_str(env, KEYRING_ENV)),
        mongodb_uri=env_str(env, "MONGODB_URI", "mongodb://127.0.0.1:27117/"),
        mongodb_database=env_str(env, "MONGODB_DATABASE", "aicosts_keyvault"),
    )


class AdminError(Exception):
    """A refusal or failure to report in one line (exit status 1)."""


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # stdout is reserved for --output -


def _connect(cfg: AdminConfig) -> Database:
    client: MongoClient = MongoClient(
        cfg.mongodb_uri,
        appname="aicosts-keyvault-admin",
        tz_aware=True,
        serverSelectionTimeoutMS=DB_TIMEOUT_MS,
    )
    return client[cfg.mongodb_database]


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry inside a container
        user = str(os.getuid())
    return f"operator:{user}@{socket.gethostname()}"


def _audit(db: Database, action: str, version: int, details: dict, outcome: Outcome = "success") -> None:
    AuditLog(db, "keyvault").record(
        action,
        outcome=outcome,
        actor=_operator(),
        target_type="key_version",
        target_id=str(version),
        details=details,
    )


def _audited_write(
    cfg: AdminConfig,
    db: Database,
    ring: Keyring,
    output: str | None,
    action: str,
    version: int,
    details: dict,
) -> str:
    """Audited before the keyring changes: if the event cannot be written, nothing changes."""
    _audit(db, action, version, details)
    try:
        return _write(cfg, ring, output)
    except AdminError:
        with contextlib.suppress(PyMongoError):
            _audit(db, action, version, {**details, "reason": "keyring_not_written"}, "failure")
        raise


def _write(cfg: AdminConfig, ring: Keyring, output: str | None) -> str:
    if output == "-":
        sys.stdout.buffer.write(keyring.dumps(ring))
        sys.stdout.buffer.flush()
        return "stdout"
    target = Path(output) if output else cfg.keyring_file
    try:
        keyring.save(target, ring)
    except OSError as exc:
        raise AdminError(
            f"cannot write {target} ({exc.strerror}); if it is a read-only mount (a Kubernetes Secret), "
            "use --output - and update the Secret with the result"
        ) from None
    return str(target)


def _secrets(store: CredentialStore, version: int) -> list[dict]:
    """Other services' secrets under `version`: records as the owner's census counted them, or
    None when they were seen in use after the last census."""
    return [
        {"owner": f"{u['caller']}/{u['purpose']}", "records": u.get("census_count")}
        for u in store.secret_use_of(version)
    ]


def _describe(secrets: list[dict]) -> str:
    return ", ".join(
        f"{s['owner']} ({s['records']} counted)" if s["records"] is not None else f"{s['owner']} (in use)"
        for s in secrets
    )


def cmd_status(cfg: AdminConfig, db: Database, as_json: bool) -> None:
    ring = keyring.load(cfg.keyring_file)
    store = CredentialStore(db)
    in_use = store.versions_in_use()
    rows: list[dict[str, Any]] = [
        {
            "version": info.version,
            "status": info.status,
            "current": info.current,
            "created_at": info.created_at,
            "credentials": in_use.get(info.version, 0),
            "secrets": _secrets(store, info.version),
        }
        for info in ring.status()
    ]
    unknown = sorted(set(in_use) - {r["version"] for r in rows})
    stale = sum(n for v, n in in_use.items() if v != ring.current_version)
    floor = store.seal_floor()
    if as_json:
        doc = {"current_version": ring.current_version, "versions": rows, "stale_credentials": stale}
        doc |= {"seal_floor": floor, "credentials_under_unknown_versions": unknown}
        print(json.dumps(doc, indent=2))
        return
    print(f"keyring {cfg.keyring_file}: current version {ring.current_version}; seal floor {floor or '-'}")
    print(f"{'version':>7}  {'status':8} {'current':7} {'created_at':20} {'credentials':>11}  secrets")
    for r in rows:
        print(
            f"{r['version']:>7}  {r['status']:8} {'yes' if r['current'] else '':7} "
            f"{r['created_at'] or '-':20} {r['credentials']:>11}  {_describe(r['secrets']) or '-'}"
        )
    if unknown:
        print(f"credentials under versions missing from the keyring: {unknown}")
    if stale:
        print(f"{stale} credential(s) are not on the current version: run `python -m keyvault.admin rewrap`")


def cmd_rotate(cfg: AdminConfig, db: Database, output: str | None) -> None:
    old = keyring.load(cfg.keyring_file)
    ring = old.rotated()
    details = {"previous_version": old.current_version}
    where = _audited_write(cfg, db, ring, output, "keyring.rotate", ring.current_version, details)
    _say(f"key version {ring.current_version} added and made current (written to {where})")
    _say("next: once every keyvault replica runs with it, run `python -m keyvault.admin rewrap`")


def cmd_rewrap(cfg: AdminConfig, db: Database) -> None:
    ring = keyring.load(cfg.keyring_file)
    report = rewrap_credentials(CredentialStore(db), ring)
    _audit(
        db,
        "keyring.rewrap",
        ring.current_version,
        {"rewrapped": report.rewrapped, "skipped": report.skipped, "failed": len(report.failed)},
    )
    print(
        f"rewrapped {report.rewrapped} credential(s) to key version {report.current_version}; "
        f"skipped {report.skipped} (changed or deleted meanwhile); failed {len(report.failed)}"
    )
    for credential_id, reason in sorted(report.failed.items()):
        print(f"  failed {credential_id}: {reason}")
    if report.failed:
        raise AdminError("some credentials could not be rewrapped (listed above)")


def cmd_retire(cfg: AdminConfig, db: Database, version: int, output: str | None) -> None:
    ring = keyring.load(cfg.keyring_file)
    retired = ring.retired(version)  # refuses the current version and unknown ones up front
    store = CredentialStore(db)
    # First no replica may keep anything sealed under an older version (one whose keyring file
    # has not caught up answers UNAVAILABLE until it has); only then is what uses it counted.
    floor = store.seal_floor()
    if floor < ring.current_version:
        _audit(db, "keyring.seal_floor", ring.current_version, {"previous_floor": floor})
        floor = store.raise_seal_floor(ring.current_version, dt.datetime.now(dt.UTC))
    count = store.versions_in_use().get(version, 0)
    if count:
        _refuse(
            db,
            version,
            "credentials_in_use",
            f"{count} credential(s) still use it; run `python -m keyvault.admin rewrap` first",
        )
    secrets = _secrets(store, version)
    if secrets:
        _refuse(
            db,
            version,
            "secrets_in_use",
            f"other services' secrets still use it: {_describe(secrets)}; their owner must "
            "re-encrypt them all and report a census (auth: `python -m auth.rewrap` in the auth "
            "service's environment; usage: `python -m usage.alerts.rewrap` in the usage service's)",
        )
    where = _audited_write(cfg, db, retired, output, "keyring.retire", version, {"seal_floor": floor})
    _say(f"key version {version} retired (written to {where}); records under it now fail to decrypt")


def _refuse(db: Database, version: int, reason: str, why: str) -> None:
    _audit(db, "keyring.retire", version, {"reason": reason}, outcome="denied")
    raise AdminError(f"refusing to retire key version {version}: {why}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m keyvault.admin", description="Keyvault key operations.")
    sub = p.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="show key versions and their use")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    rotate = sub.add_parser("rotate", help="add a new key version and make it current")
    rotate.add_argument("--output", help="write the new keyring here instead ('-' = stdout)")
    sub.add_parser("rewrap", help="re-encrypt all credentials under the current version")
    retire = sub.add_parser("retire", help="retire a key version nothing uses any more")
    retire.add_argument("version", type=int)
    retire.add_argument("--output", help="write the new keyring here instead ('-' = stdout)")
    return p


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = load_config(os.environ if env is None else env)
        db = _connect(cfg)
        try:
            if args.command == "status":
                cmd_status(cfg, db, args.json)
            elif args.command == "rotate":
                cmd_rotate(cfg, db, args.output)
            elif args.command == "rewrap":
                cmd_rewrap(cfg, db)
            else:
                cmd_retire(cfg, db, args.version, args.output)
        finally:
            db.client.close()
    except (ConfigError, KeyringError, AdminError) as exc:
        _say(f"error: {exc}")
        return 1
    except OSError as exc:
        _say(f"error: {exc.strerror or type(exc).__name__}: {getattr(exc, 'filename', '') or ''}")
        return 1
    except PyMongoError as exc:
        _say(f"error: the database is not reachable ({type(exc).__name__}); check MONGODB_URI")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
