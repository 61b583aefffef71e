"""Destination secrets (a webhook's URL and signing secret, a Slack URL) sealed by the keyvault
under the purpose "alert_destination", bound to the account and the destination id. Usage keeps
only the ciphertext. After a key rotation, rewrap() and the census calls let `python -m
usage.alerts.rewrap` move every destination to the current key version (see that module)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.errors import Unavailable
from svccommon.pbtime import timestamp

log = logging.getLogger(__name__)
PURPOSE = "alert_destination"


class DestinationSecrets:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 5.0) -> DestinationSecrets:
        # Each call is a pure function of its input (a census start only opens a window, a finish
        # with the same start and counts lands the same): safe to retry when keyvault blinks.
        idempotent = (
            "EncryptSecret",
            "DecryptSecret",
            "RewrapSecret",
            "StartSecretCensus",
            "FinishSecretCensus",
        )
        channel = secure_channel(address, tls, "aicosts.keyvault.v1.KeyVaultService", idempotent)
        return cls(Backend(channel, keyvault_pb2_grpc.KeyVaultServiceStub, timeout_s))

    def seal(self, account_id: str, destination_id: str, secret: dict[str, str]) -> bytes:
        request = kv.EncryptSecretRequest(
            account_id=account_id,
            purpose=PURPOSE,
            record_id=destination_id,
            plaintext=json.dumps(secret).encode(),
        )
        return self._call("EncryptSecret", request).ciphertext

    def open(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[dict[str, str], bool]:
        """The secret, and whether it is sealed under an older key version (re-seal it)."""
        request = kv.DecryptSecretRequest(
            account_id=account_id, purpose=PURPOSE, record_id=destination_id, ciphertext=sealed
        )
        reply = self._call("DecryptSecret", request)
        return json.loads(reply.plaintext), reply.current_key_version > reply.key_version

    def rewrap(self, account_id: str, destination_id: str, sealed: bytes) -> bytes:
        """The same secret sealed under the current key version; usage never sees the plaintext."""
        return self.reseal(account_id, destination_id, sealed)[0]

    def reseal(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[bytes, int]:
        """rewrap(), and the key version the new ciphertext is sealed under (for the census)."""
        request = kv.RewrapSecretRequest(
            account_id=account_id, purpose=PURPOSE, record_id=destination_id, ciphertext=sealed
        )
        reply = self._call("RewrapSecret", request)
        return reply.ciphertext, reply.key_version

    def start_census(self) -> dt.datetime:
        """Keyvault's clock at the start of a census of every destination secret."""
        reply = self._call("StartSecretCensus", kv.StartSecretCensusRequest(purpose=PURPOSE))
        return reply.started_at.ToDatetime(tzinfo=dt.UTC)

    def finish_census(self, started_at: dt.datetime, by_version: Mapping[int, int]) -> None:
        """How many destination secrets usage holds under each key version, all rewrapped since
        `started_at`: keyvault then forgets the versions seen in use before it."""
        request = kv.FinishSecretCensusRequest(
            purpose=PURPOSE, started_at=timestamp(started_at), records_by_key_version=dict(by_version)
        )
        self._call("FinishSecretCensus", request)

    def close(self) -> None:
        self.backend.channel.close()

    def _call(self, method: str, request: object):  # noqa: ANN202 (a keyvault reply)
        try:
            return self.backend.call(method, request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            log.error(
                "keyvault call failed", extra={"method": method, "grpc_code": getattr(code, "name", "?")}
            )
            raise Unavailable("the key store did not answer; try again shortly") from None
