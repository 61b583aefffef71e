"""Versioned master keys, loaded from one secret file.

File format (JSON, mode 0600, written atomically):

    {"format": 1,
     "current": 2,
     "keys": {"1": {"key": "<base64 of 32 random bytes>", "status": "retired",
                    "created_at": "2025-01-01T00:00:00Z"},
              "2": {"key": "...", "status": "active", "created_at": "..."}}}

"current" must name an active version; new records are sealed under it. Active
versions decrypt; retired ones are kept on file but refuse to decrypt (Vault's
min_decryption_version idea, per version). created_at is optional.
Single writer assumed: rotate/retire are admin operations, not concurrent ones.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

FILE_FORMAT = 1
MASTER_KEY_LEN = 32
MAX_VERSION = 2**32 - 1  # the record header stores the version in 4 bytes
ACTIVE = "active"
RETIRED = "retired"
_STATUSES = frozenset({ACTIVE, RETIRED})
_VERSION_RE = re.compile(r"[1-9][0-9]{0,9}")
_MAX_FILE_BYTES = 1 << 20

StrPath = str | os.PathLike[str]


class KeyringError(Exception):
    """The keyring file is invalid, or the requested change is not allowed."""


class UnknownKeyVersion(KeyringError):
    """A record names a key version this keyring does not hold."""

    def __init__(self, version: int) -> None:
        super().__init__(f"unknown key version {version}")
        self.version = version


class KeyVersionRetired(KeyringError):
    """A record was sealed under a version that has been retired."""

    def __init__(self, version: int) -> None:
        super().__init__(f"key version {version} is retired")
        self.version = version


@dataclass(frozen=True)
class KeyVersionInfo:
    """Public status of one version: safe to log and to return over RPC."""

    version: int
    status: str
    created_at: str | None
    current: bool


@dataclass(frozen=True)
class _Entry:
    key: bytes = field(repr=False)
    status: str
    created_at: str | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Keyring:
    """Immutable set of master keys; transforms return a new Keyring."""

    __slots__ = ("_current", "_entries")

    def __init__(self, current: int, entries: Mapping[int, _Entry]) -> None:
        if not entries:
            raise KeyringError("keyring has no keys")
        seen: set[bytes] = set()
        for version, entry in entries.items():
            if not 1 <= version <= MAX_VERSION:
                raise KeyringError(f"key version {version} out of range")
            if entry.status not in _STATUSES:
                raise KeyringError(f"key version {version}: bad status")
            if len(entry.key) != MASTER_KEY_LEN:
                raise KeyringError(f"key version {version}: key must be {MASTER_KEY_LEN} bytes")
            if entry.key in seen:  # a copy-pasted key would silently defeat rotation
                raise KeyringError(f"key version {version}: duplicate key material")
            seen.add(entry.key)
        if current not in entries:
            raise KeyringError(f"current version {current} is not in the keyring")
        if entries[current].status != ACTIVE:
            raise KeyringError(f"current version {current} is not active")
        self._current = current
        self._entries = dict(entries)

    @classmethod
    def generate(cls) -> Keyring:
        """A fresh keyring holding version 1 only."""
        return cls(1, {1: _Entry(os.urandom(MASTER_KEY_LEN), ACTIVE, _now())})

    @property
    def current_version(self) -> int:
        return self._current

    def master_key(self, version: int) -> bytes:
        """Master key bytes for `version`; only keyvault.crypto should call this."""
        entry = self._entries.get(version)
        if entry is None:
            raise UnknownKeyVersion(version)
        if entry.status != ACTIVE:
            raise KeyVersionRetired(version)
        return entry.key

    def status(self) -> list[KeyVersionInfo]:
        """Every version with its status, oldest first; never any key bytes."""
        return [
            KeyVersionInfo(v, e.status, e.created_at, v == self._current)
            for v, e in sorted(self._entries.items())
        ]

    def rotated(self) -> Keyring:
        """Add version max+1 and make it current; older versions stay active."""
        new = max(self._entries) + 1
        entries = dict(self._entries)
        entries[new] = _Entry(os.urandom(MASTER_KEY_LEN), ACTIVE, _now())
        return Keyring(new, entries)

    def retired(self, version: int) -> Keyring:
        """Mark `version` retired; refuses the current version."""
        entry = self._entries.get(version)
        if entry is None:
            raise UnknownKeyVersion(version)
        if version == self._current:
            raise KeyringError("refusing to retire the current key version; rotate first")
        entries = dict(self._entries)
        entries[version] = _Entry(entry.key, RETIRED, entry.created_at)
        return Keyring(self._current, entries)

    def __repr__(self) -> str:
        # Never include key bytes: keyrings end up in logs and tracebacks.
        versions = ", ".join(f"{v}:{e.status}" for v, e in sorted(self._entries.items()))
        return f"Keyring(current={self._current}, versions=[{versions}])"

    def _to_json(self) -> bytes:
        keys = {
            str(v): {"key": base64.b64encode(e.key).decode("ascii"), "status": e.status}
            | ({"created_at": e.created_at} if e.created_at else {})
            for v, e in sorted(self._entries.items())
        }
        doc = {"format": FILE_FORMAT, "current": self._current, "keys": keys}
        return (json.dumps(doc, indent=2) + "\n").encode("ascii")

    @classmethod
    def _from_json(cls, raw: bytes) -> Keyring:
        try:
            doc = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, UnicodeDecodeError):
            raise KeyringError("keyring file is not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
            raise KeyringError(f"keyring file must be an object with format {FILE_FORMAT}")
        current, keys = doc.get("current"), doc.get("keys")
        if type(current) is not int or not isinstance(keys, dict):
            raise KeyringError("keyring file needs an integer 'current' and a 'keys' object")
        entries: dict[int, _Entry] = {}
        for name, item in keys.items():
            if not _VERSION_RE.fullmatch(name):
                raise KeyringError("key versions must be positive integers without leading zeros")
            entries[int(name)] = _parse_entry(int(name), item)
        return cls(current, entries)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last duplicate silently; two "2" entries must be an error.
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise KeyringError(f"duplicate field {k!r} in keyring file")
        out[k] = v
    return out


def _parse_entry(version: int, item: Any) -> _Entry:
    if not isinstance(item, dict) or not isinstance(item.get("key"), str):
        raise KeyringError(f"key version {version}: needs a base64 'key'")
    try:
        key = base64.b64decode(item["key"], validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"key version {version}: key is not valid base64") from None
    created = item.get("created_at")
    if created is not None and not isinstance(created, str):
        raise KeyringError(f"key version {version}: created_at must be a string")
    return _Entry(key, item.get("status", ""), created)


def load(path: StrPath) -> Keyring:
    """Read and validate the keyring file."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            log.warning("keyring file %s is readable by group or others; use mode 0600", path)
        raw = f.read(_MAX_FILE_BYTES + 1)
    if len(raw) > _MAX_FILE_BYTES:
        raise KeyringError("keyring file is too large")
    return Keyring._from_json(raw)


def generate_new_file(path: StrPath) -> Keyring:
    """Create a keyring file with one fresh key (first local start); never overwrites."""
    ring = Keyring.generate()
    _write_atomic(path, ring._to_json(), exclusive=True)
    log.info("created keyring file %s with key version 1", path)
    return ring


def rotate(path: StrPath) -> Keyring:
    """Add version N+1 to the file and make it current."""
    ring = load(path).rotated()
    _write_atomic(path, ring._to_json(), exclusive=False)
    log.info("rotated keyring %s: current version is now %d", path, ring.current_version)
    return ring


def retire(path: StrPath, version: int) -> Keyring:
    """Retire `version` in the file; records under it stop decrypting."""
    ring = load(path).retired(version)
    _write_atomic(path, ring._to_json(), exclusive=False)
    log.info("retired key version %d in keyring %s", version, path)
    return ring


def dumps(ring: Keyring) -> bytes:
    """The file content for `ring` (secret: key material), e.g. to update a Kubernetes Secret."""
    return ring._to_json()


def save(path: StrPath, ring: Keyring) -> None:
    """Replace the keyring file atomically with `ring`."""
    _write_atomic(path, ring._to_json(), exclusive=False)


def _write_atomic(path: StrPath, data: bytes, *, exclusive: bool) -> None:
    # Temp file in the same directory + os.replace: readers see the old or the new
    # file, never a torn one. mkstemp already creates the file with mode 0600.
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".keyring-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)  # atomic and fails if path exists, unlike os.replace
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # persist the rename itself
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
