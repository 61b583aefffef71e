"""The running service's view of the keyring file: loaded at start, re-read when the file changes.

Rotation without downtime: the admin CLI (or a Kubernetes Secret update) replaces the file
atomically; the next call notices the new inode/mtime and loads it. A bad new file is logged
and ignored (the previous keyring keeps serving). A record naming a version newer than any this
process holds was sealed by a replica that already has the rotated file (Kubernetes updates
mounted Secrets node by node): that is a transient condition, reported as such.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from keyvault import crypto, keyring
from keyvault.crypto import Context
from keyvault.keyring import Keyring, KeyringError, UnknownKeyVersion

log = logging.getLogger(__name__)

_Signature = tuple[int, int, int, int]


class KeyVersionNotLoaded(Exception):
    """The blob names a version newer than this process holds: retry once the file arrives."""

    def __init__(self, version: int) -> None:
        super().__init__(f"key version {version} is not loaded yet")
        self.version = version


def _signature(path: Path) -> _Signature | None:
    try:
        st = os.stat(path)  # follows the ..data symlink of a Kubernetes Secret volume
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class KeyringSource:
    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = Path(path)
        if create and not self.path.exists():
            keyring.generate_new_file(self.path)
        self._lock = threading.Lock()
        self._signature = _signature(self.path)
        self._ring = keyring.load(self.path)  # a bad file at start is fatal: fail fast
        log.info("keyring loaded", extra={"current_version": self._ring.current_version})

    def current(self) -> Keyring:
        """The keyring, re-read first if the file changed since the last look."""
        if _signature(self.path) != self._signature:
            self._reload()
        return self._ring

    def seal(self, context: Context, plaintext: bytes) -> bytes:
        return crypto.seal(self.current(), context, plaintext)

    def unseal(self, context: Context, blob: bytes) -> bytes:
        """crypto.unseal with the current keyring; a too-new version raises KeyVersionNotLoaded."""
        ring = self.current()
        try:
            return crypto.unseal(ring, context, blob)
        except UnknownKeyVersion as exc:
            if newer_than_loaded(ring, exc.version):
                raise KeyVersionNotLoaded(exc.version) from None
            raise

    def _reload(self) -> None:
        with self._lock:
            signature = _signature(self.path)
            if signature == self._signature:
                return  # another thread reloaded it meanwhile
            try:
                ring = keyring.load(self.path)
            except (OSError, KeyringError) as exc:
                # Keep serving with the keyring we have; an operator must fix the file.
                log.error("keyring reload failed; keeping the loaded keyring", extra={"error": str(exc)})
                self._signature = signature
                return
            previous = self._ring.current_version
            self._ring, self._signature = ring, signature
            log.info(
                "keyring reloaded",
                extra={"current_version": ring.current_version, "previous_version": previous},
            )


def newer_than_loaded(ring: Keyring, version: int) -> bool:
    """True if `version` is above every version in `ring`: a rotation this process has not seen yet."""
    return version > max(info.version for info in ring.status())
