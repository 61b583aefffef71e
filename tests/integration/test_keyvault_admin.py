"""The operator CLI (python -m keyvault.admin): status, rotate, rewrap, retire, on the real
database with its own keyring file; no plaintext is ever printed; each change is audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from keyvault import admin, keyring
from keyvault.secretbox import SecretRef
from support.vaults import Vault, make_vault

KEYS = [f"sk-admin-rotation-{i:016d}" for i in range(4)]


@pytest.fixture()
def kv(mongo_uri, tmp_path) -> Vault:
    vault = make_vault(mongo_uri, tmp_path)
    for key in KEYS:
        vault.vault.store_key("gateway", "acct-rot", "openai", key, "")
    return vault


@pytest.fixture()
def env(kv, mongo_uri) -> dict[str, str]:
    return {
        "KEYVAULT_KEYRING_FILE": str(kv.keyring_file),
        "MONGODB_URI": mongo_uri,
        "MONGODB_DATABASE": kv.db.name,
    }


def run(env, capsys, *argv: str) -> tuple[int, str, str]:
    code = admin.main(list(argv), env)
    out = capsys.readouterr()
    for key in KEYS:
        assert key not in out.out and key not in out.err
    return code, out.out, out.err


def test_status_rotate_rewrap_retire(kv, env, capsys):
    code, out, _ = run(env, capsys, "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["current_version"] == 1 and status["versions"][0]["credentials"] == 4

    code, _, err = run(env, capsys, "rotate")
    assert code == 0 and "key version 2 added" in err
    assert kv.keys.current().current_version == 2  # the running service's source reloads the file

    code, _, err = run(env, capsys, "retire", "1")
    assert code == 1 and "4 credential(s) still use it" in err and "rewrap" in err

    code, out, _ = run(env, capsys, "rewrap")
    assert code == 0 and "rewrapped 4 credential(s) to key version 2" in out
    assert kv.store.versions_in_use() == {2: 4}
    assert (
        sorted(kv.vault.reveal("usage", "acct-rot", r.id)[1] for r in kv.store.list_for_account("acct-rot"))
        == KEYS
    )

    code, _, err = run(env, capsys, "retire", "1")
    assert code == 0 and "key version 1 retired" in err
    code, out, _ = run(env, capsys, "status")
    assert code == 0 and "current version 2" in out and "retired" in out

    actions = [
        e["action"] for e in kv.db["audit_events"].find({"action": {"$regex": "^keyring[.]"}}).sort("at", 1)
    ]
    assert actions == ["keyring.rotate", "keyring.rewrap", "keyring.retire"]
    retire = kv.db["audit_events"].find_one({"action": "keyring.retire"})
    assert retire["actor"].startswith("operator:") and retire["target"] == {"type": "key_version", "id": "1"}
    assert retire["at"] is not None and retire["outcome"] == "success"


def test_retire_refuses_when_other_services_secrets_used_the_version(kv, env, capsys):
    kv.box.encrypt(SecretRef("auth", "acct-rot", "totp_secret", "acct-rot"), b"seed")
    run(env, capsys, "rotate")
    run(env, capsys, "rewrap")
    code, _, err = run(env, capsys, "retire", "1")
    assert code == 1 and "auth/totp_secret" in err and "RewrapSecret" in err and "--force" in err
    code, _, _ = run(env, capsys, "retire", "1", "--force")
    assert code == 0 and keyring.load(kv.keyring_file).status()[0].status == "retired"


def test_output_to_stdout_leaves_a_read_only_file_alone(kv, env, capsys, tmp_path):
    before = kv.keyring_file.read_bytes()
    code, out, err = run(env, capsys, "rotate", "--output", "-")
    assert code == 0 and kv.keyring_file.read_bytes() == before
    new_file = tmp_path / "new.json"
    new_file.write_text(out)
    assert keyring.load(new_file).current_version == 2

    # A target that cannot be written (here: its folder is a file) gets the read-only-mount advice.
    code, _, err = run(env, capsys, "rotate", "--output", str(kv.keyring_file / "new.json"))
    assert code == 1 and "cannot write" in err and "--output -" in err
    assert kv.keyring_file.read_bytes() == before


def test_module_entry_point_reports_configuration_errors(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KEYVAULT_KEYRING_FILE"}
    done = subprocess.run(
        [sys.executable, "-m", "keyvault.admin", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "KEYVAULT_KEYRING_FILE is required" in done.stderr
