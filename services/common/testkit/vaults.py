"""A keyvault CredentialVault + SecretBox on the session database, each test in its own
database and with its own keyring file (no stack needed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keyvault.credentials import CredentialVault
from keyvault.keys import KeyringSource
from keyvault.secretbox import SecretBox
from keyvault.store import CredentialStore
from pymongo import MongoClient
from pymongo.database import Database
from svccommon.audit import AuditLog
from svccommon.plans import PROFESSIONAL
from svccommon.standing import Standing

OPENAI_KEY = "sk-admin-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"


def verified_professional(account_id: str) -> Standing:
    """Every account as auth would describe a verified Professional one: no plan limit on keys,
    so these tests meet keyvault's own per-account cap (the plan limits have their own tests)."""
    return Standing(PROFESSIONAL, email_verified=True)


@dataclass
class Vault:
    db: Database
    keyring_file: Path
    keys: KeyringSource
    store: CredentialStore
    vault: CredentialVault
    box: SecretBox

    def audit_events(self, **query) -> list[dict]:
        return list(self.db["audit_events"].find(query).sort("at", 1))


def make_vault(
    mongo_uri: str,
    tmp_path: Path,
    max_per_account: int = 50,
    standing_of: Callable[[str], Standing] = verified_professional,
) -> Vault:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True, uuidRepresentation="standard")
    db = client[f"kvtest_{uuid.uuid4().hex[:12]}"]
    return _vault(db, tmp_path / "keyring.json", max_per_account, standing_of)


def replica_of(vault: Vault, keyring_file: Path) -> Vault:
    """A second keyvault replica on the same database that reads its own keyring file (as a pod
    whose mounted Secret has not been updated yet does)."""
    return _vault(vault.db, keyring_file, vault.vault.max_per_account, vault.vault.standing_of)


def _vault(
    db: Database, keyring_file: Path, max_per_account: int, standing_of: Callable[[str], Standing]
) -> Vault:
    keys = KeyringSource(keyring_file, create=True)
    store = CredentialStore(db)
    store.ensure_indexes()
    audit = AuditLog(db, "keyvault")
    return Vault(
        db=db,
        keyring_file=keyring_file,
        keys=keys,
        store=store,
        vault=CredentialVault(store, keys, audit, max_per_account, standing_of=standing_of),
        box=SecretBox(store, keys, audit),
    )
