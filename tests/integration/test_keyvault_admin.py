"""The operator CLI (python -m keyvault.admin): status, rotate, rewrap, retire, on the real
database with its own keyring file; no plaintext is ever printed; each change is audited.
Retire counts real use: credentials by key version, other services' secrets as their owner last
reported them plus any sealed or opened since, and it stops every replica sealing under an
older version first, so a replica that has not loaded the new keyring yet cannot strand a record."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from keyvault import admin, keyring
from keyvault.secretbox import SecretRef
from svccommon.errors import Unavailable
from testkit.vaults import Vault, make_vault, replica_of

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
    # The refused retire set the seal floor first (audited once), and its refusal is audited too.
    assert sorted(actions) == sorted(
        ["keyring.rotate", "keyring.seal_floor", "keyring.retire", "keyring.rewrap", "keyring.retire"]
    )
    refused = kv.db["audit_events"].find_one({"action": "keyring.retire", "outcome": "denied"})
    assert refused["details"] == {"reason": "credentials_in_use"}
    retire = kv.db["audit_events"].find_one({"action": "keyring.retire", "outcome": "success"})
    assert retire["actor"].startswith("operator:") and retire["target"] == {"type": "key_version", "id": "1"}
    assert retire["at"] is not None and retire["outcome"] == "success"


def test_retire_counts_other_services_secrets_until_their_owner_reports_them_moved(kv, env, capsys):
    ref = SecretRef("auth", "acct-rot", "totp_secret", "acct-rot")
    sealed, _ = kv.box.encrypt(ref, b"seed")
    run(env, capsys, "rotate")
    run(env, capsys, "rewrap")
    code, _, err = run(env, capsys, "retire", "1")
    assert code == 1 and "auth/totp_secret" in err and "python -m auth.rewrap" in err

    # The owner's rewrap: a census started, every secret it holds re-sealed, what it holds reported.
    started = kv.box.start_census("auth", "totp_secret")
    moved, version = kv.box.rewrap(ref, sealed)
    assert version == 2
    code, _, err = run(env, capsys, "retire", "1")
    assert code == 1 and "auth/totp_secret" in err  # not before the owner says what it holds
    kv.box.finish_census("auth", "totp_secret", started, {2: 1})
    code, out, _ = run(env, capsys, "status", "--json")
    secrets = {v["version"]: v["secrets"] for v in json.loads(out)["versions"]}
    assert secrets == {1: [], 2: [{"owner": "auth/totp_secret", "records": 1}]}
    code, _, err = run(env, capsys, "retire", "1")
    assert code == 0 and "key version 1 retired" in err
    assert kv.box.decrypt(ref, moved)[0] == b"seed"
    census = kv.db["audit_events"].find_one({"action": "secret.census"})
    assert census["actor"] == "service:auth" and census["details"]["counts"] == {"2": 1}


def test_a_census_keeps_secrets_sealed_under_a_version_after_it_started(kv, env, capsys):
    ref = SecretRef("auth", "acct-rot", "totp_secret", "acct-rot")
    run(env, capsys, "rotate")
    run(env, capsys, "rewrap")
    started = kv.box.start_census("auth", "totp_secret")
    kv.box.encrypt(ref, b"seed")  # a new seed while the owner's rewrap runs: version 2
    kv.box.finish_census("auth", "totp_secret", started, {})
    code, out, _ = run(env, capsys, "status", "--json")
    assert {v["version"]: v["secrets"] for v in json.loads(out)["versions"]}[2] == [
        {"owner": "auth/totp_secret", "records": None}
    ]


def test_a_replica_still_on_the_old_keyring_cannot_strand_records(kv, env, capsys, tmp_path):
    lagging_file = tmp_path / "lagging" / "keyring.json"
    lagging_file.parent.mkdir()
    shutil.copy(kv.keyring_file, lagging_file)
    lagging = replica_of(kv, lagging_file)  # its Secret volume has not caught up with the rotation
    run(env, capsys, "rotate")
    run(env, capsys, "rewrap")
    assert lagging.keys.current().current_version == 1

    code, _, err = run(env, capsys, "retire", "1")
    assert code == 0, err
    # The lagging replica would still seal under version 1: what it seals is refused, not kept.
    with pytest.raises(Unavailable):
        lagging.vault.store_key("gateway", "acct-rot", "openai", "sk-admin-lagging-0000000000000001", "")
    with pytest.raises(Unavailable):
        lagging.box.encrypt(SecretRef("auth", "acct-rot", "totp_secret", "acct-rot"), b"seed")
    assert kv.store.versions_in_use() == {2: len(KEYS)}
    assert kv.box.store.secret_use_of(1) == []

    # Once its keyring file catches up, it seals under version 2 again.
    shutil.copy(kv.keyring_file, lagging_file)
    stored = lagging.vault.store_key("gateway", "acct-rot", "openai", "sk-admin-lagging-0000000000000002", "")
    assert stored.key_version == 2


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
