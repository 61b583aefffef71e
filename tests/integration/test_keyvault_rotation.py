"""Key rotation on the running stack without downtime: the operator CLI adds a key version, the
running keyvault picks it up on its next call, and the rewrap job moves every stored record to
it while everything stays decryptable. (Retiring is tested on a private keyring: retiring a
version of the shared stack would break other tests' data.)"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from support.grpc_clients import channel_as, identity_files


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


def admin(stack, mongo_uri: str, *argv: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "KEYVAULT_KEYRING_FILE": str(stack.var_dir / "secrets" / "keyvault" / "keyring.json"),
        "MONGODB_URI": mongo_uri,
    }
    done = subprocess.run(
        [sys.executable, "-m", "keyvault.admin", *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


def test_rotate_then_rewrap_on_the_running_service(stack, mongo_uri, stubs):
    account = uuid.uuid4().hex
    keys = [f"sk-admin-live-rotation-{i:012d}" for i in range(3)]
    before = [
        stubs["gateway"]
        .StoreCredential(
            kv.StoreCredentialRequest(account_id=account, platform="openai", api_key=k, email_verified=True),
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
            account_id=account, platform="openai", api_key="sk-admin-after-rotation-0001", email_verified=True
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
