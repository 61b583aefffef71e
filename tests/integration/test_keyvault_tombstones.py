"""A deleted credential leaves a tombstone: the secret is erased in the same write, every read
treats it as gone (get, list, reveal, the per-account limit, the census and the rewrap), and
the change feed usage's reconciler follows shows the store and the deletion in order."""

from __future__ import annotations

import datetime as dt

import pytest
from keyvault.rewrap import rewrap_credentials
from svccommon.errors import InvalidArgument, NotFound
from testkit.vaults import OPENAI_KEY, Vault, make_vault

ACCOUNT = "acct-tomb"


@pytest.fixture()
def kv(mongo_uri, tmp_path) -> Vault:
    return make_vault(mongo_uri, tmp_path, max_per_account=1)


def test_a_deleted_credential_is_a_tombstone_without_its_secret(kv):
    record = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "Finance")
    kv.vault.delete("gateway", ACCOUNT, record.id)
    doc = kv.db["credentials"].find_one({"_id": record.id})
    assert doc is not None and doc["deleted_at"] is not None and doc["changed_at"] == doc["deleted_at"]
    assert not {"ciphertext", "key_version", "label", "last4", "status_message"} & set(doc)
    with pytest.raises(NotFound):
        kv.vault.get(ACCOUNT, record.id)
    with pytest.raises(NotFound):
        kv.vault.reveal("usage", ACCOUNT, record.id)
    with pytest.raises(NotFound):
        kv.vault.delete("gateway", ACCOUNT, record.id)  # deleting twice: already gone
    assert kv.vault.of_account(ACCOUNT) == []
    assert kv.store.versions_in_use() == {}
    assert kv.store.stale_ids(99) == []
    # The tombstone does not count against the account's limit (1 here).
    kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    report = rewrap_credentials(kv.store, kv.keys.current())
    assert (report.rewrapped, report.failed) == (0, {})  # the live key is current; the tombstone is skipped


def test_the_change_feed_pages_stores_and_deletions_in_order(kv):
    first = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    kv.vault.delete("gateway", ACCOUNT, first.id)
    second = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    changes = kv.vault.changes(None, 0)
    assert [(c.id, c.deleted) for c in changes] == [(first.id, True), (second.id, False)]
    assert changes[0].changed_at <= changes[1].changed_at
    assert all(c.account_id == ACCOUNT and c.platform == "openai" for c in changes)
    page = kv.vault.changes(None, 1)
    assert [c.id for c in page] == [first.id]
    rest = kv.vault.changes((page[0].changed_at, page[0].id), 10)
    assert [c.id for c in rest] == [second.id]
    assert kv.vault.changes((rest[0].changed_at, rest[0].id), 10) == []
    later = rest[0].changed_at + dt.timedelta(seconds=1)
    assert kv.vault.changes((later, ""), 10) == []
    with pytest.raises(InvalidArgument):
        kv.vault.changes(None, 501)
    with pytest.raises(InvalidArgument):
        kv.vault.changes((later, "not-an-id"), 10)


def test_tombstones_expire_through_a_ttl_index(kv):
    kv.store.ensure_indexes()
    ttl = [i for i in kv.db["credentials"].list_indexes() if i["name"] == "tombstone_ttl"]
    assert ttl and ttl[0]["expireAfterSeconds"] == 30 * 86400
