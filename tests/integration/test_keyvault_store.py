"""Keyvault's credential store and secret box on the real database: round trip, tampering with
stored ciphertext, ciphertext moved between records, rotation + rewrap, retired versions."""

from __future__ import annotations

import pytest
from bson.binary import Binary
from keyvault import keyring, policy
from keyvault.rewrap import rewrap_credentials
from keyvault.secretbox import SecretRef
from svccommon.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from testkit.vaults import OPENAI_KEY, Vault, make_vault

ACCOUNT, OTHER = "acct-a", "acct-b"


@pytest.fixture()
def kv(mongo_uri, tmp_path) -> Vault:
    return make_vault(mongo_uri, tmp_path)


def reveal(kv: Vault, credential_id: str, account: str = ACCOUNT) -> str:
    return kv.vault.reveal("usage", account, credential_id)[1]


def test_round_trip_and_metadata(kv):
    record = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "  Finance org  ")
    assert (record.label, record.last4, record.key_version, record.status) == (
        "Finance org",
        "M3n4",
        1,
        "active",
    )
    assert reveal(kv, record.id) == OPENAI_KEY
    doc = kv.db["credentials"].find_one({"_id": record.id})
    assert set(doc) == {
        "_id", "account_id", "platform", "label", "last4", "ciphertext", "key_version",
        "status", "status_message", "created_at", "last_used_at", "last_sync_at", "changed_at", "deleted_at",
    }  # fmt: skip
    assert doc["last_used_at"] is not None
    assert OPENAI_KEY.encode() not in bytes(doc["ciphertext"])
    assert [e["action"] for e in kv.audit_events()] == ["credential.create", "credential.reveal"]


def test_default_label_status_update_and_delete(kv):
    record = kv.vault.store_key("gateway", ACCOUNT, "anthropic", "sk-ant-admin01-abcdefghijkl", "")
    assert record.label == "Anthropic"
    updated = kv.vault.update_status(ACCOUNT, record.id, "invalid", "The key was revoked", None)
    assert (updated.status, updated.status_message) == ("invalid", "The key was revoked")
    with pytest.raises(InvalidArgument):
        kv.vault.update_status(ACCOUNT, record.id, "broken", "", None)
    with pytest.raises(NotFound):
        kv.vault.delete("gateway", OTHER, record.id)  # another account's id: not found
    kv.vault.delete("gateway", ACCOUNT, record.id)
    with pytest.raises(NotFound):
        kv.vault.get(ACCOUNT, record.id)


def test_keyvault_refuses_keys_of_the_wrong_shape_and_too_many(mongo_uri, tmp_path):
    kv = make_vault(mongo_uri, tmp_path, max_per_account=1)
    with pytest.raises(InvalidArgument, match="sk-admin-"):
        kv.vault.store_key("gateway", ACCOUNT, "openai", "sk-proj-abcdefghijklmnop", "")
    with pytest.raises(InvalidArgument, match="platform"):
        kv.vault.store_key("gateway", ACCOUNT, "no-such-platform", OPENAI_KEY, "")
    kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    with pytest.raises(FailedPrecondition, match="at most 1"):
        kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    assert kv.db["credentials"].count_documents({}) == 1


def test_every_flip_truncation_and_extension_of_stored_ciphertext_gives_one_opaque_error(kv):
    record = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    blob = record.ciphertext
    variants = [blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :] for i in range(len(blob))]
    variants += [blob[:n] for n in range(len(blob))]
    variants += [blob + b"\x00", blob + bytes(16), blob + blob[-32:]]
    messages = set()
    for variant in variants:
        kv.db["credentials"].update_one({"_id": record.id}, {"$set": {"ciphertext": Binary(variant)}})
        with pytest.raises(FailedPrecondition) as err:
            reveal(kv, record.id)
        messages.add(err.value.message)
    assert messages == {"the stored key cannot be decrypted; delete the credential and add the key again"}
    reasons = {e["details"]["reason"] for e in kv.audit_events(action="credential.reveal", outcome="failure")}
    assert reasons == {"decryption_failed", "header_mismatch"}  # told apart only in the audit log


def test_ciphertext_copied_to_another_record_or_account_fails(kv):
    mine = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    second = kv.vault.store_key("gateway", ACCOUNT, "openai", "sk-admin-second-key-0000000000", "")
    theirs = kv.vault.store_key("gateway", OTHER, "openai", "sk-admin-their-key-00000000000", "")
    for target, account in ((second, ACCOUNT), (theirs, OTHER)):
        kv.db["credentials"].update_one({"_id": target.id}, {"$set": {"ciphertext": Binary(mine.ciphertext)}})
        with pytest.raises(FailedPrecondition, match="cannot be decrypted"):
            reveal(kv, target.id, account)
    kv.db["credentials"].update_one({"_id": mine.id}, {"$set": {"platform": "anthropic"}})
    with pytest.raises(FailedPrecondition, match="cannot be decrypted"):
        reveal(kv, mine.id)


def test_reveal_is_for_usage_only_and_for_the_owning_account(kv):
    record = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    for caller in ("gateway", "parser", "auth"):
        with pytest.raises(PermissionDenied):
            kv.vault.reveal(caller, ACCOUNT, record.id)
    with pytest.raises(PermissionDenied):
        kv.vault.reveal("usage", OTHER, record.id)
    denied = kv.audit_events(action="credential.reveal", outcome="denied")
    assert [e["actor"] for e in denied] == [
        "service:gateway",
        "service:parser",
        "service:auth",
        "service:usage",
    ]
    assert denied[-1]["account_id"] == ACCOUNT and denied[-1]["details"]["requested_account_id"] == OTHER
    assert all(e["target"] == {"type": "credential", "id": record.id} for e in denied)


def test_rotation_then_rewrap_moves_every_record_and_retired_version_fails_clearly(kv):
    old = [kv.vault.store_key("gateway", ACCOUNT, "openai", f"sk-admin-key-{i:020d}", "") for i in range(5)]
    keyring.rotate(kv.keyring_file)  # the running source notices the new file
    assert [reveal(kv, r.id) for r in old] == [f"sk-admin-key-{i:020d}" for i in range(5)]
    new = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    assert new.key_version == 2
    assert kv.store.versions_in_use() == {1: 5, 2: 1}

    report = rewrap_credentials(kv.store, keyring.load(kv.keyring_file))
    assert (report.rewrapped, report.skipped, report.failed) == (5, 0, {})
    assert kv.store.versions_in_use() == {2: 6}
    assert [reveal(kv, r.id) for r in old] == [f"sk-admin-key-{i:020d}" for i in range(5)]
    assert all(kv.store.get(r.id).ciphertext != r.ciphertext for r in old)
    # Compare-and-set: a record that changed since it was read is not overwritten.
    assert not kv.store.replace_ciphertext(old[0], old[0].ciphertext, 2)

    keyring.rotate(kv.keyring_file)
    keyring.retire(kv.keyring_file, 2)  # retired without a rewrap: records under 2 must fail clearly
    with pytest.raises(FailedPrecondition) as err:
        reveal(kv, new.id)
    assert "key version 2" in err.value.message and "retired" in err.value.message
    failures = kv.audit_events(action="credential.reveal", outcome="failure")
    assert failures[-1]["details"]["reason"] == "key_version_retired"


def test_secret_round_trip_and_purpose_binding(kv, monkeypatch):
    monkeypatch.setitem(policy.SECRET_PURPOSES, "auth", frozenset({"totp_secret", "other_secret"}))
    ref = SecretRef("auth", ACCOUNT, "totp_secret", "user-1")
    ciphertext, version = kv.box.encrypt(ref, b"JBSWY3DPEHPK3PXP")
    assert version == 1
    assert kv.box.decrypt(ref, ciphertext) == (b"JBSWY3DPEHPK3PXP", 1, 1)
    for moved in (
        SecretRef("auth", ACCOUNT, "other_secret", "user-1"),  # another purpose
        SecretRef("auth", OTHER, "totp_secret", "user-1"),  # another account
        SecretRef("auth", ACCOUNT, "totp_secret", "user-2"),  # another record
    ):
        with pytest.raises(InvalidArgument, match="^decryption failed$"):
            kv.box.decrypt(moved, ciphertext)


def test_secret_callers_and_purposes_are_allowlisted_and_audited(kv):
    ciphertext, _ = kv.box.encrypt(SecretRef("auth", ACCOUNT, "totp_secret", "user-1"), b"seed")
    for ref in (
        SecretRef("usage", ACCOUNT, "totp_secret", "user-1"),
        SecretRef("gateway", ACCOUNT, "totp_secret", "user-1"),
        SecretRef("auth", ACCOUNT, "api_key", "user-1"),
    ):
        with pytest.raises(PermissionDenied):
            kv.box.decrypt(ref, ciphertext)
    denied = kv.audit_events(action="secret.decrypt", outcome="denied")
    assert [e["actor"] for e in denied] == ["service:usage", "service:gateway", "service:auth"]


def test_secret_rewrap_after_rotation(kv):
    ref = SecretRef("auth", ACCOUNT, "totp_secret", "user-1")
    ciphertext, _ = kv.box.encrypt(ref, b"seed")
    keyring.rotate(kv.keyring_file)
    assert kv.box.decrypt(ref, ciphertext)[1:] == (1, 2)  # old version, newer current: rewrap due
    fresh, version = kv.box.rewrap(ref, ciphertext)
    assert version == 2 and kv.box.decrypt(ref, fresh) == (b"seed", 2, 2)
    assert {u["key_version"] for u in kv.store.secret_use_of(1)} == {1}
    keyring.retire(kv.keyring_file, 1)
    with pytest.raises(FailedPrecondition, match="key version 1, which has been retired"):
        kv.box.decrypt(ref, ciphertext)


def test_only_a_purposes_owner_may_report_its_census(kv):
    ref = SecretRef("auth", ACCOUNT, "totp_secret", "user-1")
    kv.box.encrypt(ref, b"seed")
    started = kv.box.start_census("auth", "totp_secret")
    for caller in ("usage", "gateway"):
        with pytest.raises(PermissionDenied):
            kv.box.start_census(caller, "totp_secret")
        with pytest.raises(PermissionDenied):
            kv.box.finish_census(caller, "totp_secret", started, {})
    assert [u["caller"] for u in kv.store.secret_use_of(1)] == ["auth"]  # nothing forgotten
    denied = kv.audit_events(action={"$regex": "^secret[.]census"}, outcome="denied")
    assert sorted(e["actor"] for e in denied) == ["service:gateway"] * 2 + ["service:usage"] * 2
    with pytest.raises(InvalidArgument):
        kv.box.finish_census("auth", "totp_secret", started, {0: 1})
    assert kv.audit_events(action="secret.census") == []
