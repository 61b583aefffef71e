"""Key rotation on the running stack without downtime: the operator CLI adds a key version, the
running keyvault picks it up on its next call, and the rewrap jobs (keyvault's for credentials,
auth's for every TOTP secret, confirmed or pending) move every stored record to it while
everything stays decryptable, after which the old version may be retired. (Retiring writes to a
copy here: retiring a version of the shared stack's keyring would break other tests' data.)"""

from __future__ import annotations

import json
import time

import pytest
import requests
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from keyvault.crypto import key_version_of
from support.accounts import auth_db, enable_2fa, new_account, totp_code
from support.grpc_clients import channel_as, identity_files
from support.keyring_admin import admin, retire, service_job

pytestmark = pytest.mark.slow  # rotates and rewraps every stored secret on the running stack


@pytest.fixture(scope="module")
def stubs(stack, tmp_path_factory):
    tls_dir = stack.var_dir / "secrets" / "tls"
    out = tmp_path_factory.mktemp("rotation-ids")
    channels = {
        name: channel_as(f"127.0.0.1:{stack.ports['keyvault']}", identity_files(tls_dir, name, out / name))
        for name in ("gateway", "usage")
    }
    yield {name: keyvault_pb2_grpc.KeyVaultServiceStub(ch) for name, ch in channels.items()}
    for channel in channels.values():
        channel.close()


def signs_in_with_2fa(stack, account, two_factor) -> bool:
    first = requests.post(
        f"{stack.base_url}/v1/auth/login",
        json={"email": account.email, "password": account.password},
        timeout=30,
    ).json()
    second = requests.post(
        f"{stack.base_url}/v1/auth/login/mfa",
        json={"mfa_token": first["mfa_token"], "code": totp_code(two_factor.secret, int(time.time() // 30))},
        timeout=30,
    )
    return second.status_code == 200 and "access_token" in second.json()


def test_rotate_then_rewrap_on_the_running_service(stack, mongo_uri, stubs):
    # A real account on Professional: keyvault asks auth, and Free holds only 3 keys.
    account = new_account(stack).account_id
    with auth_db(mongo_uri) as db:  # where auth keeps the plan (as a Stripe upgrade would set it)
        assert db["accounts"].update_one({"_id": account}, {"$set": {"plan": "professional"}}).matched_count
    keys = [f"sk-admin-live-rotation-{i:012d}" for i in range(3)]
    before = [
        stubs["gateway"]
        .StoreCredential(
            kv.StoreCredentialRequest(account_id=account, platform="openai", api_key=k),
            timeout=5,
        )
        .credential
        for k in keys
    ]
    old_version = json.loads(admin(stack, mongo_uri, "status", "--json").stdout)["current_version"]
    assert {c.key_version for c in before} == {old_version}

    admin(stack, mongo_uri, "rotate")
    new = stubs["gateway"].StoreCredential(
        kv.StoreCredentialRequest(
            account_id=account, platform="openai", api_key="sk-admin-after-rotation-0001"
        ),
        timeout=5,
    )
    assert new.credential.key_version == old_version + 1  # the running process reloaded the keyring

    def reveal(credential_id: str) -> str:
        request = kv.RevealCredentialRequest(account_id=account, credential_id=credential_id)
        return stubs["usage"].RevealCredential(request, timeout=5).api_key

    assert [reveal(c.id) for c in before] == keys  # old records still open before the rewrap

    result = admin(stack, mongo_uri, "rewrap")
    assert "failed 0" in result.stdout and not any(k in result.stdout + result.stderr for k in keys)
    status = json.loads(admin(stack, mongo_uri, "status", "--json").stdout)
    assert status["stale_credentials"] == 0 and status["current_version"] == old_version + 1
    listed = stubs["usage"].ListCredentials(kv.ListCredentialsRequest(account_id=account), timeout=5)
    assert {c.key_version for c in listed.credentials} == {old_version + 1}
    assert [reveal(c.id) for c in before] == keys


def test_auth_rewrap_moves_every_totp_secret_so_the_old_version_can_retire(stack, mongo_uri, tmp_path):
    enabled = new_account(stack)
    two_factor = enable_2fa(stack, enabled)
    pending = new_account(stack)  # set up, not confirmed yet: its seed is stored as `pending`
    setup = requests.post(
        f"{stack.base_url}/v1/me/2fa/setup",
        json={"password": pending.password},
        headers=pending.headers,
        timeout=30,
    )
    assert setup.status_code == 200, setup.text
    old_version = json.loads(admin(stack, mongo_uri, "status", "--json").stdout)["current_version"]

    def totp_versions() -> tuple[int, int]:
        with auth_db(mongo_uri) as db:
            active = db["accounts"].find_one({"_id": enabled.account_id})["totp"]["secret"]
            waiting = db["accounts"].find_one({"_id": pending.account_id})["totp"]["pending"]
        return key_version_of(active), key_version_of(waiting)

    assert totp_versions() == (old_version, old_version)
    admin(stack, mongo_uri, "rotate")
    admin(stack, mongo_uri, "rewrap")
    done = service_job(stack, "auth.rewrap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert totp_versions() == (old_version + 1, old_version + 1)
    # Other tests of this session may have stored alert destinations (usage's secrets): moved too.
    moved = service_job(stack, "usage.alerts.rewrap")
    assert moved.returncode == 0, moved.stdout + moved.stderr

    # Nothing uses the old version any more, so retiring it is allowed (written to a copy: the
    # running stack keeps its keyring for the other tests).
    copy = str(tmp_path / "keyring.json")
    retired = retire(stack, mongo_uri, old_version, copy)
    assert retired.returncode == 0, retired.stderr
    # The moved secret still opens: its owner signs in with a code.
    assert signs_in_with_2fa(stack, enabled, two_factor)
