"""Keyring file: creation, permissions, rotation, retirement, validation, no key leaks."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from keyvault import keyring
from keyvault.keyring import Keyring, KeyringError, KeyVersionRetired, UnknownKeyVersion


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def key_forms(ring: Keyring) -> list[str]:
    """Every way a key could show up in text: raw repr, hex, base64."""
    out: list[str] = []
    for info in ring.status():
        if info.status == keyring.ACTIVE:
            k = ring.master_key(info.version)
            out += [repr(k), k.hex(), base64.b64encode(k).decode()]
    return out


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "secrets" / "keyring.json"


@pytest.fixture(autouse=True)
def _mkdir(path: Path) -> None:
    path.parent.mkdir()


def test_generate_new_file_is_0600_and_loads(path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        ring = keyring.generate_new_file(path)
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    loaded = keyring.load(path)
    assert loaded.current_version == ring.current_version == 1
    assert loaded.master_key(1) == ring.master_key(1)
    assert len(ring.master_key(1)) == 32
    assert os.listdir(path.parent) == ["keyring.json"]  # no temp files left behind


def test_generate_new_file_never_overwrites(path: Path) -> None:
    keyring.generate_new_file(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        keyring.generate_new_file(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["keyring.json"]


def test_file_format(path: Path) -> None:
    keyring.generate_new_file(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == 1 and doc["current"] == 1
    assert set(doc["keys"]) == {"1"}
    entry = doc["keys"]["1"]
    assert entry["status"] == "active" and entry["created_at"].endswith("Z")
    assert len(base64.b64decode(entry["key"], validate=True)) == 32


def test_rotate_adds_version_atomically_and_keeps_0600(path: Path) -> None:
    first = keyring.generate_new_file(path)
    path.chmod(0o644)  # even a loosened file is rewritten as 0600
    ring = keyring.rotate(path)
    assert mode(path) == 0o600
    assert ring.current_version == 2
    assert ring.master_key(1) == first.master_key(1)  # old records keep decrypting
    assert ring.master_key(2) != ring.master_key(1)
    assert keyring.load(path).current_version == 2
    assert keyring.rotate(path).current_version == 3
    assert os.listdir(path.parent) == ["keyring.json"]


def test_retire(path: Path) -> None:
    keyring.generate_new_file(path)
    keyring.rotate(path)
    ring = keyring.retire(path, 1)
    assert [(i.version, i.status, i.current) for i in ring.status()] == [
        (1, "retired", False),
        (2, "active", True),
    ]
    with pytest.raises(KeyVersionRetired) as exc:
        keyring.load(path).master_key(1)
    assert exc.value.version == 1
    assert "retired" in path.read_text()


def test_refuses_to_retire_current(path: Path) -> None:
    keyring.generate_new_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyringError, match="current"):
        keyring.retire(path, 1)
    assert path.read_bytes() == before


def test_retire_unknown_version(path: Path) -> None:
    keyring.generate_new_file(path)
    with pytest.raises(UnknownKeyVersion):
        keyring.retire(path, 9)


def test_unknown_version_lookup() -> None:
    with pytest.raises(UnknownKeyVersion, match="unknown key version 2"):
        Keyring.generate().master_key(2)


def test_version_errors_are_distinct_types() -> None:
    assert not issubclass(UnknownKeyVersion, KeyVersionRetired)
    assert not issubclass(KeyVersionRetired, UnknownKeyVersion)


def test_repr_str_and_status_never_show_key_bytes() -> None:
    ring = Keyring.generate().rotated().retired(1)
    texts = [repr(ring), str(ring), f"{ring}", repr(ring.status()), repr(ring._entries)]
    assert "Keyring(current=2" in repr(ring)
    secrets = key_forms(ring) + [repr(ring._entries[1].key), ring._entries[1].key.hex()]
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_logs_never_show_key_bytes(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyring.generate_new_file(path)
    keyring.rotate(path)
    path.chmod(0o644)
    ring = keyring.load(path)
    assert "readable by group or others" in caplog.text
    assert "rotated" in caplog.text
    for secret in key_forms(ring):
        assert secret not in caplog.text


def _write(path: Path, doc: object) -> None:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))


K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(1, 33))).decode()
# JSON allows repeated names and json.loads keeps the last: version "1" twice must be refused.
_E1, _E2 = (json.dumps({"key": k, "status": "active"}) for k in (K1, K2))
DUPLICATE_VERSION_DOC = '{"format": 1, "current": 1, "keys": {"1": ' + _E1 + ', "1": ' + _E2 + "}}"


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        DUPLICATE_VERSION_DOC,
        {"current": 1, "keys": {"1": {"key": K1, "status": "active"}}},
        {"format": 1, "current": "1", "keys": {"1": {"key": K1, "status": "active"}}},
        {"format": 1, "current": True, "keys": {"1": {"key": K1, "status": "active"}}},
        {"format": 1, "current": 2, "keys": {"1": {"key": K1, "status": "active"}}},
        {"format": 1, "current": 1, "keys": {"1": {"key": K1, "status": "retired"}}},
        {"format": 1, "current": 1, "keys": {"1": {"key": K1, "status": "maybe"}}},
        {"format": 1, "current": 1, "keys": {"1": {"key": K1[:-4], "status": "active"}}},
        {"format": 1, "current": 1, "keys": {"1": {"key": "!!notbase64!!", "status": "active"}}},
        {"format": 1, "current": 1, "keys": {"01": {"key": K1, "status": "active"}}},
        {"format": 1, "current": 1, "keys": {"0": {"key": K1, "status": "active"}}},
        {"format": 1, "current": 1, "keys": {}},
        {
            "format": 1,
            "current": 1,
            "keys": {"1": {"key": K1, "status": "active"}, "2": {"key": K1, "status": "active"}},
        },
        [],
    ],
)
def test_invalid_files_are_rejected_without_echoing_keys(path: Path, doc: object) -> None:
    _write(path, doc)
    with pytest.raises(KeyringError) as exc:
        keyring.load(path)
    assert K1 not in str(exc.value) and K2 not in str(exc.value)
    assert exc.value.__cause__ is None


def test_hand_written_file_without_created_at_loads(path: Path) -> None:
    _write(
        path,
        {
            "format": 1,
            "current": 2,
            "keys": {"1": {"key": K1, "status": "retired"}, "2": {"key": K2, "status": "active"}},
        },
    )
    ring = keyring.load(path)
    assert ring.master_key(2) == bytes(range(1, 33))
    assert [i.created_at for i in ring.status()] == [None, None]
