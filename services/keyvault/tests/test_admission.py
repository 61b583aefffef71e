"""keyvault decides itself whether an account may store one more provider key: the plan's key
limit (Free: 3, counted in keyvault's own store) and a confirmed email address, both from auth at
the moment of the store; with auth down the store fails as unavailable and nothing is kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2_grpc
from devstack.ports import free_ports
from svccommon.accountinfo import AccountInfo
from svccommon.channels import Backend
from svccommon.errors import EmailUnverified, InvalidArgument, PlanRequired, Unavailable
from svccommon.plans import FREE, PROFESSIONAL
from svccommon.standing import UNVERIFIED_KIND, Standing
from testkit.mongo import mongo_server
from testkit.vaults import Vault, make_vault

ACCOUNT = "acct-admission"
KEYS = [f"sk-admin-admission-test-{i:012d}" for i in range(5)]


@pytest.fixture(scope="module")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mongo_server(tmp_path_factory.mktemp("kv-admission-db")) as uri:
        yield uri


class Auth:
    """What auth says about the account right now (changed by the test, as an upgrade would)."""

    def __init__(self) -> None:
        self.standing = Standing(FREE, email_verified=True)
        self.asked = 0

    def standing_of(self, account_id: str) -> Standing:
        self.asked += 1
        return self.standing


@pytest.fixture
def auth() -> Auth:
    return Auth()


@pytest.fixture
def kv(mongo_uri: str, tmp_path: Path, auth: Auth) -> Vault:
    return make_vault(mongo_uri, tmp_path, standing_of=auth.standing_of)


def store(kv: Vault, key: str) -> str:
    return kv.vault.store_key("gateway", ACCOUNT, "openai", key, "").id


def test_a_fourth_key_on_free_is_refused_naming_professional(kv: Vault, auth: Auth) -> None:
    for key in KEYS[:3]:
        store(kv, key)
    with pytest.raises(PlanRequired) as refused:
        store(kv, KEYS[3])
    assert str(refused.value).startswith("Holding more than 3 provider keys is part of the Professional plan")
    meta = dict(refused.value.metadata)
    assert (meta["x-problem-kind"], meta["x-plan"], meta["x-required-plan"]) == (
        "plan-required",
        "free",
        "professional",
    )
    assert kv.store.count_for_account(ACCOUNT) == 3  # nothing stored

    auth.standing = Standing(PROFESSIONAL, email_verified=True)  # upgraded: counts at once
    store(kv, KEYS[3])
    store(kv, KEYS[4])
    assert kv.store.count_for_account(ACCOUNT) == 5
    kv.vault.delete("gateway", ACCOUNT, kv.vault.of_account(ACCOUNT)[0].id)
    auth.standing = Standing(FREE, email_verified=True)  # downgraded with 4 keys: no 5th
    with pytest.raises(PlanRequired):
        store(kv, KEYS[0])


def test_an_unverified_account_is_refused(kv: Vault, auth: Auth) -> None:
    auth.standing = Standing(PROFESSIONAL, email_verified=False)
    with pytest.raises(EmailUnverified) as refused:
        store(kv, KEYS[0])
    assert str(refused.value).startswith("Confirm your email address before storing provider keys")
    assert dict(refused.value.metadata)["x-problem-kind"] == UNVERIFIED_KIND
    assert kv.store.count_for_account(ACCOUNT) == 0


def test_a_malformed_key_is_refused_before_auth_is_asked(kv: Vault, auth: Auth) -> None:
    with pytest.raises(InvalidArgument):
        kv.vault.store_key("gateway", ACCOUNT, "openai", "sk-proj-0123456789ab", "")
    assert auth.asked == 0


def test_auth_down_is_unavailable_not_a_guess(mongo_uri: str, tmp_path: Path) -> None:
    (nobody_listens,) = free_ports(1)
    channel = grpc.insecure_channel(f"127.0.0.1:{nobody_listens}")
    accounts = AccountInfo(Backend(channel, auth_pb2_grpc.AuthServiceStub, timeout_s=1.0))
    kv = make_vault(mongo_uri, tmp_path, standing_of=accounts.standing_of)
    with pytest.raises(Unavailable):
        store(kv, KEYS[0])
    assert kv.store.count_for_account(ACCOUNT) == 0
    accounts.close()


def test_two_stores_racing_past_the_same_count_keep_the_plan_limit(kv: Vault, auth: Auth) -> None:
    """Both stores count 2 held keys before either inserts (auth answers them together): the later
    key loses once both are in place, and the account holds 3, not 4."""
    account = "acct-admission-race"
    for key in KEYS[:2]:
        kv.vault.store_key("gateway", account, "openai", key, "")
    both_asked = threading.Barrier(2, timeout=10)

    def standing_of(account_id: str) -> Standing:
        both_asked.wait()  # each has counted 2 before the other inserts
        return Standing(FREE, email_verified=True)

    kv.vault.standing_of = standing_of
    outcomes: list[str] = []

    def attempt(key: str) -> None:
        try:
            kv.vault.store_key("gateway", account, "openai", key, "")
            outcomes.append("stored")
        except PlanRequired:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(key,)) for key in KEYS[2:4]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["refused", "stored"]
    assert kv.store.count_for_account(account) == 3
