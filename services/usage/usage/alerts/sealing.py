"""Destination secrets (a webhook's URL and signing secret, a Slack URL) sealed by the keyvault
under the purpose "alert_destination", bound to the account and the destination id. Usage keeps
only the ciphertext."""

from __future__ import annotations

import json
import logging

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.errors import Unavailable

log = logging.getLogger(__name__)
PURPOSE = "alert_destination"


class DestinationSecrets:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 5.0) -> DestinationSecrets:
        # Both calls are pure functions of their input: safe to retry when keyvault blinks.
        channel = secure_channel(
            address, tls, "aicosts.keyvault.v1.KeyVaultService", ("EncryptSecret", "DecryptSecret")
        )
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

    def _call(self, method: str, request: object):  # noqa: ANN202 (a keyvault reply)
        try:
            return self.backend.call(method, request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            log.error(
                "keyvault call failed", extra={"method": method, "grpc_code": getattr(code, "name", "?")}
            )
            raise Unavailable("the key store did not answer; try again shortly") from None
