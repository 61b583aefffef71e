"""The keyvault's generic secret sealing, as every service that keeps a secret at rest calls it:
seal, open, reseal under the current key version, and the census that lets an old key version
retire. Each caller names its purpose (keyvault allowlists callers per purpose) and binds every
secret to (account, record). The callers adapt the plaintext (auth: a TOTP seed, usage: a JSON
document) and say what "unavailable" means to their users."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc

from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.errors import Unavailable
from svccommon.pbtime import timestamp

log = logging.getLogger(__name__)
KEYVAULT_SERVICE = "aicosts.keyvault.v1.KeyVaultService"
# Each call is a pure function of its input (a census start only opens a window, a finish with
# the same start and counts lands the same): safe to retry when keyvault blinks.
IDEMPOTENT = ("EncryptSecret", "DecryptSecret", "RewrapSecret", "StartSecretCensus", "FinishSecretCensus")


class KeyvaultSealer:
    def __init__(self, backend: Backend, purpose: str, unavailable: str) -> None:
        self.backend = backend
        self.purpose = purpose
        self.unavailable = unavailable  # the Unavailable message when keyvault does not answer

    @classmethod
    def connect(
        cls, address: str, tls: TlsFiles, purpose: str, unavailable: str, timeout_s: float = 5.0
    ) -> KeyvaultSealer:
        channel = secure_channel(address, tls, KEYVAULT_SERVICE, IDEMPOTENT)
        return cls(Backend(channel, keyvault_pb2_grpc.KeyVaultServiceStub, timeout_s), purpose, unavailable)

    def seal(self, account_id: str, record_id: str, plaintext: bytes) -> bytes:
        request = kv.EncryptSecretRequest(
            account_id=account_id, purpose=self.purpose, record_id=record_id, plaintext=plaintext
        )
        return self._call("EncryptSecret", request).ciphertext

    def open(self, account_id: str, record_id: str, ciphertext: bytes) -> tuple[bytes, bool]:
        """The plaintext, and whether it is sealed under an older key version (reseal it)."""
        request = kv.DecryptSecretRequest(
            account_id=account_id, purpose=self.purpose, record_id=record_id, ciphertext=ciphertext
        )
        reply = self._call("DecryptSecret", request)
        return reply.plaintext, reply.current_key_version > reply.key_version

    def reseal(self, account_id: str, record_id: str, ciphertext: bytes) -> tuple[bytes, int]:
        """The same secret sealed under the current key version (the caller never sees the
        plaintext), and that version (for the census)."""
        request = kv.RewrapSecretRequest(
            account_id=account_id, purpose=self.purpose, record_id=record_id, ciphertext=ciphertext
        )
        reply = self._call("RewrapSecret", request)
        return reply.ciphertext, reply.key_version

    def start_census(self) -> dt.datetime:
        """Keyvault's clock at the start of a census of every secret of this purpose."""
        reply = self._call("StartSecretCensus", kv.StartSecretCensusRequest(purpose=self.purpose))
        return reply.started_at.ToDatetime(tzinfo=dt.UTC)

    def finish_census(self, started_at: dt.datetime, by_version: Mapping[int, int]) -> None:
        """How many secrets the caller holds under each key version, all resealed since
        `started_at`: keyvault then forgets the versions seen in use before it."""
        request = kv.FinishSecretCensusRequest(
            purpose=self.purpose, started_at=timestamp(started_at), records_by_key_version=dict(by_version)
        )
        self._call("FinishSecretCensus", request)

    def close(self) -> None:
        self.backend.channel.close()

    def _call(self, method: str, request: object) -> Any:  # the method's generated reply message
        try:
            return self.backend.call(method, request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            log.error(
                "keyvault call failed", extra={"method": method, "grpc_code": getattr(code, "name", "?")}
            )
            raise Unavailable(self.unavailable) from None
