"""TOTP seeds are encrypted at rest by the keyvault (purpose "totp_secret", record = account id):
auth stores only ciphertext and never holds an encryption key."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from aicosts.keyvault.v1 import keyvault_pb2, keyvault_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.errors import Unavailable
from svccommon.pbtime import timestamp

log = logging.getLogger("auth.clients.keyvault_secretbox")

PURPOSE = "totp_secret"
KEYVAULT_SERVICE = "aicosts.keyvault.v1.KeyVaultService"
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
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 5.0) -> KeyvaultSecretBox:
        # Each call is a pure function of its input, so retrying on UNAVAILABLE is safe.
        idempotent = (
            "EncryptSecret",
            "DecryptSecret",
            "RewrapSecret",
            "StartSecretCensus",
            "FinishSecretCensus",
        )
        channel = secure_channel(address, tls, KEYVAULT_SERVICE, idempotent)
        return cls(Backend(channel, keyvault_pb2_grpc.KeyVaultServiceStub, timeout_s))

    def _call(self, method: str, request: object) -> Any:  # the method's generated reply message
        try:
            return self.backend.call(method, request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            log.error(
                "keyvault call failed", extra={"method": method, "grpc_code": getattr(code, "name", "?")}
            )
            raise Unavailable(UNAVAILABLE) from None

    def encrypt(self, account_id: str, plaintext: str) -> bytes:
        request = keyvault_pb2.EncryptSecretRequest(
            account_id=account_id, purpose=PURPOSE, record_id=account_id, plaintext=plaintext.encode()
        )
        return self._call("EncryptSecret", request).ciphertext

    def open(self, account_id: str, ciphertext: bytes) -> Opened:
        request = keyvault_pb2.DecryptSecretRequest(
            account_id=account_id, purpose=PURPOSE, record_id=account_id, ciphertext=ciphertext
        )
        reply = self._call("DecryptSecret", request)
        stale = reply.current_key_version > reply.key_version
        return Opened(plaintext=reply.plaintext.decode(), stale=stale)

    def decrypt(self, account_id: str, ciphertext: bytes) -> str:
        return self.open(account_id, ciphertext).plaintext

    def rewrap(self, account_id: str, ciphertext: bytes) -> bytes:
        """The same secret sealed under the current key version; auth never sees the plaintext."""
        return self.reseal(account_id, ciphertext)[0]

    def reseal(self, account_id: str, ciphertext: bytes) -> tuple[bytes, int]:
        """rewrap(), and the key version the new ciphertext is sealed under."""
        request = keyvault_pb2.RewrapSecretRequest(
            account_id=account_id, purpose=PURPOSE, record_id=account_id, ciphertext=ciphertext
        )
        reply = self._call("RewrapSecret", request)
        return reply.ciphertext, reply.key_version

    def start_census(self) -> dt.datetime:
        reply = self._call("StartSecretCensus", keyvault_pb2.StartSecretCensusRequest(purpose=PURPOSE))
        return reply.started_at.ToDatetime(tzinfo=dt.UTC)

    def finish_census(self, started_at: dt.datetime, counts: Mapping[int, int]) -> None:
        request = keyvault_pb2.FinishSecretCensusRequest(
            purpose=PURPOSE, started_at=timestamp(started_at), records_by_key_version=dict(counts)
        )
        self._call("FinishSecretCensus", request)

    def close(self) -> None:
        self.backend.channel.close()
