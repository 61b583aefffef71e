"""Keyvault over real mTLS gRPC: who may call what (identity from the peer certificate), reveal
for the usage service alone and for the owning account only, generic secrets by purpose, and the
audit rows each decision leaves (actor, action, target, IP, timestamp)."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from pymongo import MongoClient
from support.accounts import new_account
from support.grpc_clients import channel_as, identity_files

OPENAI_KEY = "sk-admin-grpc-test-0123456789abcdef"


@pytest.fixture(scope="module")
def as_(stack, tmp_path_factory):
    """as_("usage") → a KeyVaultService stub presenting the usage identity's certificate."""
    tls_dir = stack.var_dir / "secrets" / "tls"
    out = tmp_path_factory.mktemp("kv-identities")
    channels: dict[str, grpc.Channel] = {}

    def stub(identity: str) -> keyvault_pb2_grpc.KeyVaultServiceStub:
        if identity not in channels:
            files = identity_files(tls_dir, identity, out / identity)
            channels[identity] = channel_as(f"127.0.0.1:{stack.ports['keyvault']}", files)
        return keyvault_pb2_grpc.KeyVaultServiceStub(channels[identity])

    yield stub
    for channel in channels.values():
        channel.close()


@pytest.fixture(scope="module")
def audit(mongo_uri):
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    yield client["aicosts_keyvault"]["audit_events"]
    client.close()


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


@pytest.fixture
def account(stack) -> str:
    """A real, verified account: keyvault asks auth whether it may store a key for it."""
    return new_account(stack).account_id


def store(as_, account: str, key: str = OPENAI_KEY) -> kv.Credential:
    request = kv.StoreCredentialRequest(account_id=account, platform="openai", api_key=key, label="Org")
    return as_("gateway").StoreCredential(request, timeout=5).credential


def test_credential_methods_follow_the_allowlist(as_, account):
    cred = store(as_, account)
    assert (cred.platform, cred.last4, cred.status) == ("openai", "cdef", "active") and cred.key_version >= 1
    listed = as_("usage").ListCredentials(kv.ListCredentialsRequest(account_id=account), timeout=5)
    assert [c.id for c in listed.credentials] == [cred.id]
    get = kv.GetCredentialRequest(account_id=account, credential_id=cred.id)
    assert as_("usage").GetCredential(get, timeout=5).credential.last4 == "cdef"
    status = kv.UpdateCredentialStatusRequest(
        account_id=account, credential_id=cred.id, status="invalid", status_message="Key revoked"
    )
    status.last_sync_at.FromDatetime(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    updated = as_("usage").UpdateCredentialStatus(status, timeout=5).credential
    assert updated.status == "invalid" and updated.last_sync_at.seconds > 0
    denied = [
        lambda: as_("usage").StoreCredential(kv.StoreCredentialRequest(account_id=account), timeout=5),
        lambda: as_("parser").ListCredentials(kv.ListCredentialsRequest(account_id=account), timeout=5),
        lambda: as_("gateway").UpdateCredentialStatus(status, timeout=5),
        lambda: as_("auth").GetCredential(get, timeout=5),
        lambda: as_("intruder").ListCredentials(kv.ListCredentialsRequest(account_id=account), timeout=5),
        lambda: as_("usage").DeleteCredential(kv.DeleteCredentialRequest(account_id=account), timeout=5),
    ]
    assert [code_of(c) for c in denied] == [grpc.StatusCode.PERMISSION_DENIED] * len(denied)
    delete = kv.DeleteCredentialRequest(account_id=account, credential_id=cred.id)
    as_("gateway").DeleteCredential(delete, timeout=5)
    assert code_of(lambda: as_("gateway").DeleteCredential(delete, timeout=5)) == grpc.StatusCode.NOT_FOUND


def test_store_refuses_a_key_of_the_wrong_kind(as_):
    request = kv.StoreCredentialRequest(
        account_id="acct-1", platform="openai", api_key="sk-proj-0123456789ab"
    )
    with pytest.raises(grpc.RpcError) as err:
        as_("gateway").StoreCredential(request, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sk-admin-" in err.value.details() and "sk-proj-0123456789ab" not in err.value.details()


def test_reveal_only_for_usage_and_audited_with_actor_target_ip_and_time(as_, audit, account):
    cred = store(as_, account)
    request = kv.RevealCredentialRequest(account_id=account, credential_id=cred.id)
    metadata = (("x-client-ip", "203.0.113.7"), ("x-request-id", "reveal-test-1"))
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    reply = as_("usage").RevealCredential(request, timeout=5, metadata=metadata)
    assert (reply.platform, reply.api_key) == ("openai", OPENAI_KEY)
    event = audit.find_one({"action": "credential.reveal", "target.id": cred.id, "outcome": "success"})
    assert event["actor"] == "service:usage" and event["account_id"] == account
    assert event["target"] == {"type": "credential", "id": cred.id}
    assert event["ip"] == "203.0.113.7" and event["request_id"] == "reveal-test-1"
    assert event["at"].replace(tzinfo=dt.UTC) >= before
    for identity in ("gateway", "parser", "auth"):
        code = code_of(lambda identity=identity: as_(identity).RevealCredential(request, timeout=5))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    assert (
        code_of(lambda: as_("intruder").RevealCredential(request, timeout=5))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    denied = audit.find({"action": "credential.reveal", "target.id": cred.id, "outcome": "denied"})
    assert sorted(e["actor"] for e in denied) == ["service:auth", "service:gateway", "service:parser"]


def test_reveal_of_another_accounts_credential_is_refused_and_audited(as_, audit, account):
    owner, other = account, uuid.uuid4().hex
    cred = store(as_, owner)
    request = kv.RevealCredentialRequest(account_id=other, credential_id=cred.id)
    with pytest.raises(grpc.RpcError) as err:
        as_("usage").RevealCredential(request, timeout=5)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert OPENAI_KEY not in (err.value.details() or "")
    event = audit.find_one({"action": "credential.reveal", "target.id": cred.id, "outcome": "denied"})
    assert event["account_id"] == owner and event["details"]["requested_account_id"] == other
    assert event["actor"] == "service:usage" and event["details"]["reason"] == "other_account"
    missing = kv.RevealCredentialRequest(account_id=other, credential_id=uuid.uuid4().hex)
    assert code_of(lambda: as_("usage").RevealCredential(missing, timeout=5)) == grpc.StatusCode.NOT_FOUND


def test_secrets_round_trip_for_auth_and_are_bound_to_their_purpose(as_, audit):
    account = uuid.uuid4().hex
    enc = kv.EncryptSecretRequest(
        account_id=account, purpose="totp_secret", record_id=account, plaintext=b"SEED"
    )
    sealed = as_("auth").EncryptSecret(enc, timeout=5)
    assert sealed.key_version >= 1 and b"SEED" not in sealed.ciphertext
    dec = kv.DecryptSecretRequest(
        account_id=account, purpose="totp_secret", record_id=account, ciphertext=sealed.ciphertext
    )
    opened = as_("auth").DecryptSecret(dec, timeout=5)
    assert opened.plaintext == b"SEED" and opened.key_version == sealed.key_version
    rewrap = kv.RewrapSecretRequest(
        account_id=account, purpose="totp_secret", record_id=account, ciphertext=sealed.ciphertext
    )
    fresh = as_("auth").RewrapSecret(rewrap, timeout=5)
    assert fresh.ciphertext != sealed.ciphertext and not hasattr(fresh, "plaintext")

    for identity in ("usage", "gateway", "parser"):
        code = code_of(lambda identity=identity: as_(identity).DecryptSecret(dec, timeout=5))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    other_purpose = kv.DecryptSecretRequest(
        account_id=account, purpose="api_key", record_id=account, ciphertext=sealed.ciphertext
    )
    assert (
        code_of(lambda: as_("auth").DecryptSecret(other_purpose, timeout=5))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    other_account = kv.DecryptSecretRequest(
        account_id=uuid.uuid4().hex, purpose="totp_secret", record_id=account, ciphertext=sealed.ciphertext
    )
    with pytest.raises(grpc.RpcError) as err:
        as_("auth").DecryptSecret(other_account, timeout=5)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "decryption failed")
    denied = list(audit.find({"action": "secret.decrypt", "account_id": account, "outcome": "denied"}))
    assert sorted(e["actor"] for e in denied) == [
        "service:auth",
        "service:gateway",
        "service:parser",
        "service:usage",
    ]


def test_only_usage_may_follow_the_credential_changes(as_, stack):
    account = new_account(stack).account_id  # keyvault asks auth about the account
    cred = store(as_, account)
    as_("gateway").DeleteCredential(
        kv.DeleteCredentialRequest(account_id=account, credential_id=cred.id), timeout=5
    )
    request = kv.ListCredentialChangesRequest(limit=500)
    seen = []
    while True:  # the whole session's keys: page to the end
        page = as_("usage").ListCredentialChanges(request, timeout=5).changes
        seen += [c for c in page if c.credential_id == cred.id]
        if len(page) < request.limit:
            break
        request.after_changed_at.CopyFrom(page[-1].changed_at)
        request.after_credential_id = page[-1].credential_id
    assert [(c.account_id, c.platform, c.deleted) for c in seen] == [(account, "openai", True)]
    for identity in ("gateway", "auth", "parser"):
        assert code_of(lambda i=identity: as_(i).ListCredentialChanges(request, timeout=5)) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
