"""TOTP seeds are encrypted at rest by the keyvault (purpose "totp_secret", record = account id):
auth stores only ciphertext and never holds an encryption key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from svccommon.config import TlsFiles
from svccommon.sealing import KeyvaultSealer

PURPOSE = "totp_secret"
UNAVAILABLE = "Two-factor authentication is temporarily unavailable. Try again shortly."


@dataclass(frozen=True)
class Opened:
    plaintext: str
    stale: bool  # sealed under an older key version: re-encrypt it (RewrapSecret) and store that


class SecretBox(Protocol):
    def encrypt(self, account_id: str, plaintext: str) -> bytes: ...
    def decrypt(self, account_id: str, ciphertext: bytes) -> str: ...
    def open(self, account_id: str, ciphertext: bytes) -> Opened: ...
    def rewrap(self, account_id: str, ciphertext: bytes) -> bytes: ...


class KeyvaultSecretBox:
    """svccommon.sealing for TOTP seeds: the record is the account itself."""

    def __init__(self, sealer: KeyvaultSealer) -> None:
        self.sealer = sealer

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 5.0) -> KeyvaultSecretBox:
        return cls(KeyvaultSealer.connect(address, tls, PURPOSE, UNAVAILABLE, timeout_s))

    def encrypt(self, account_id: str, plaintext: str) -> bytes:
        return self.sealer.seal(account_id, account_id, plaintext.encode())

    def open(self, account_id: str, ciphertext: bytes) -> Opened:
        plaintext, stale = self.sealer.open(account_id, account_id, ciphertext)
        return Opened(plaintext=plaintext.decode(), stale=stale)

    def decrypt(self, account_id: str, ciphertext: bytes) -> str:
        return self.open(account_id, ciphertext).plaintext

    def rewrap(self, account_id: str, ciphertext: bytes) -> bytes:
        """The same secret sealed under the current key version; auth never sees the plaintext."""
        return self.reseal(account_id, ciphertext)[0]

    def reseal(self, account_id: str, ciphertext: bytes) -> tuple[bytes, int]:
        """rewrap(), and the key version the new ciphertext is sealed under."""
        return self.sealer.reseal(account_id, account_id, ciphertext)

    def start_census(self) -> dt.datetime:
        return self.sealer.start_census()

    def finish_census(self, started_at: dt.datetime, counts: Mapping[int, int]) -> None:
        self.sealer.finish_census(started_at, counts)

    def close(self) -> None:
        self.sealer.close()
