"""The seal floor: the lowest key version any replica may still seal under, kept in the database
so that every replica obeys it at once. `keyvault.admin retire` raises it to the current version
before it counts what still uses the old one. A replica whose keyring file has not caught up
with a rotation would still seal under the old version: it checks the floor before sealing,
and again after recording what it sealed (a credential stored, a secret's use noted), so that
when retire raises the floor in between, either retire's count sees the record or the replica
sees the floor and gives the record up: nothing sealed under a retired version is kept."""

from __future__ import annotations

from svccommon.errors import Unavailable

from keyvault.store import CredentialStore


def check_sealed(store: CredentialStore, key_version: int) -> None:
    """Raise Unavailable (callers retry) if `key_version` is below the floor."""
    floor = store.seal_floor()
    if key_version < floor:
        raise Unavailable(f"key version {floor} is not loaded on this keyvault replica yet; retry shortly")
