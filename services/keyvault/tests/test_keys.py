"""The running service's keyring: re-read when the file changes, kept when a new file is bad."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyvault import crypto, keyring
from keyvault.crypto import Context
from keyvault.keyring import KeyringError
from keyvault.keys import KeyringSource, KeyVersionNotLoaded

CTX = Context(account_id="acct-1", record_id="rec-1", platform="openai", purpose="api_key")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


def test_creates_a_missing_file_only_when_asked(path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KeyringSource(path)
    source = KeyringSource(path, create=True)
    assert path.is_file() and source.current().current_version == 1


def test_bad_file_at_start_is_fatal(path: Path) -> None:
    path.write_text("{not json")
    with pytest.raises(KeyringError):
        KeyringSource(path)


def test_rotation_on_disk_is_picked_up_without_restart(path: Path) -> None:
    source = KeyringSource(path, create=True)
    old_blob = crypto.seal(source.current(), CTX, b"secret")
    keyring.rotate(path)
    ring = source.current()
    assert ring.current_version == 2
    assert crypto.key_version_of(crypto.seal(ring, CTX, b"x")) == 2
    assert crypto.unseal(ring, CTX, old_blob) == b"secret"  # version 1 still decrypts


def test_a_broken_new_file_keeps_the_loaded_keyring(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = KeyringSource(path, create=True)
    key = source.current().master_key(1)
    path.write_text('{"format": 1, "current": 9, "keys": {}}')
    assert source.current().master_key(1) == key
    assert "keyring reload failed" in caplog.text
    keyring.generate_new_file(path.with_name("other.json"))
    path.write_bytes(path.with_name("other.json").read_bytes())  # a valid file again
    assert source.current().master_key(1) != key


def test_version_newer_than_loaded_is_transient_older_unknown_is_not(path: Path, tmp_path: Path) -> None:
    source = KeyringSource(path, create=True)
    other = tmp_path / "other-replica.json"
    other.write_bytes(path.read_bytes())
    ring = keyring.rotate(other)  # another replica already holds version 2; this file does not
    with pytest.raises(KeyVersionNotLoaded) as err:
        source.unseal(CTX, crypto.seal(ring, CTX, b"secret"))
    assert err.value.version == 2
    keyring.rotate(path)
    keyring.rotate(path)  # versions 2 and 3 here (different key bytes from the other replica's 2)
    with pytest.raises(crypto.DecryptionError):
        source.unseal(CTX, crypto.seal(ring, CTX, b"secret"))
    assert source.unseal(CTX, source.seal(CTX, b"secret")) == b"secret"
