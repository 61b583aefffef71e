"""The "alert_destination" secret purpose: the usage service alone may seal and open alert
destinations (webhook URLs and signing secrets), usage may not touch auth's "totp_secret", and
auth may not touch "alert_destination"; each refusal leaves a denied audit row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from keyvault import policy
from keyvault.secretbox import SecretRef
from svccommon.errors import PermissionDenied
from testkit.mongo import mongo_server
from testkit.vaults import Vault, make_vault

ACCOUNT, DESTINATION = "acct-a", "0123456789abcdef0123456789abcdef"
SECRET = b'{"url": "https://hooks.example.org/x", "signing_secret": "whsec_abc"}'


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mongo_server(tmp_path_factory.mktemp("kv-purpose-db")) as uri:
        yield uri


@pytest.fixture
def kv(mongo_uri: str, tmp_path: Path) -> Vault:
    return make_vault(mongo_uri, tmp_path)


def test_the_allowlist_gives_alert_destinations_to_usage_only() -> None:
    assert policy.may_use_secret("usage", "alert_destination")
    assert not policy.may_use_secret("usage", "totp_secret")
    assert not policy.may_use_secret("auth", "alert_destination")
    assert not policy.may_use_secret("gateway", "alert_destination")
    owners = [
        caller for caller, purposes in policy.SECRET_PURPOSES.items() if "alert_destination" in purposes
    ]
    assert owners == ["usage"]


def test_usage_seals_and_opens_an_alert_destination(kv: Vault) -> None:
    ref = SecretRef("usage", ACCOUNT, "alert_destination", DESTINATION)
    ciphertext, version = kv.box.encrypt(ref, SECRET)
    assert b"hooks.example.org" not in ciphertext and b"whsec_abc" not in ciphertext
    assert kv.box.decrypt(ref, ciphertext) == (SECRET, version, version)
    [opened] = kv.audit_events(action="secret.decrypt", outcome="success")
    assert (opened["actor"], opened["target"]["id"]) == ("service:usage", f"alert_destination:{DESTINATION}")


def test_usage_may_not_use_totp_secrets_nor_auth_alert_destinations(kv: Vault) -> None:
    sealed, _ = kv.box.encrypt(SecretRef("usage", ACCOUNT, "alert_destination", DESTINATION), SECRET)
    totp, _ = kv.box.encrypt(SecretRef("auth", ACCOUNT, "totp_secret", "user-1"), b"JBSWY3DPEHPK3PXP")
    with pytest.raises(PermissionDenied, match="'usage' may not use secrets of purpose 'totp_secret'"):
        kv.box.encrypt(SecretRef("usage", ACCOUNT, "totp_secret", "user-1"), b"seed")
    with pytest.raises(PermissionDenied):
        kv.box.decrypt(SecretRef("usage", ACCOUNT, "totp_secret", "user-1"), totp)
    with pytest.raises(PermissionDenied, match="'auth' may not use secrets of purpose 'alert_destination'"):
        kv.box.decrypt(SecretRef("auth", ACCOUNT, "alert_destination", DESTINATION), sealed)
    with pytest.raises(PermissionDenied):
        kv.box.encrypt(SecretRef("auth", ACCOUNT, "alert_destination", DESTINATION), SECRET)
    denied = kv.audit_events(outcome="denied")
    assert [(e["action"], e["actor"], e["details"]["purpose"]) for e in denied] == [
        ("secret.encrypt", "service:usage", "totp_secret"),
        ("secret.decrypt", "service:usage", "totp_secret"),
        ("secret.decrypt", "service:auth", "alert_destination"),
        ("secret.encrypt", "service:auth", "alert_destination"),
    ]
    assert all(e["details"]["reason"] == "purpose_not_allowed" for e in denied)
