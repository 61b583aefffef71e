"""The usage service's view of keyvault: credential metadata, the plaintext key for a sync,
and status updates. gRPC errors become the two cases the sync code acts on."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

import grpc
from aicosts.keyvault.v1 import keyvault_pb2 as kv
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.pbtime import timestamp

from usage.changes import CredentialChange

log = logging.getLogger(__name__)

KEYVAULT_SERVICE = "aicosts.keyvault.v1.KeyVaultService"
# Reads are safe to retry when keyvault is briefly unavailable; status writes are idempotent too.
RETRY_SAFE = ("GetCredential", "RevealCredential", "UpdateCredentialStatus")


class CredentialGone(Exception):
    """Keyvault does not know this credential for this account (deleted, or never existed)."""


class KeyvaultUnavailable(Exception):
    """Keyvault did not answer; the caller may retry later."""


@dataclass(frozen=True)
class CredentialInfo:
    credential_id: str
    platform: str
    status: str


class Credentials(Protocol):
    def get(self, account_id: str, credential_id: str) -> CredentialInfo: ...

    def reveal(self, account_id: str, credential_id: str) -> tuple[str, str]: ...

    def mark_invalid(self, account_id: str, credential_id: str, message: str) -> None: ...

    def mark_synced(
        self, account_id: str, credential_id: str, at: dt.datetime, message: str = ""
    ) -> None: ...

    def note(self, account_id: str, credential_id: str, message: str) -> None: ...


class KeyvaultCredentialChanges:
    """keyvault's ListCredentialChanges as the reconciler's feed of stored and deleted keys."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 10.0) -> KeyvaultCredentialChanges:
        channel = secure_channel(address, tls, KEYVAULT_SERVICE, ("ListCredentialChanges",))
        return cls(Backend(channel, keyvault_pb2_grpc.KeyVaultServiceStub, timeout_s))

    def after(self, position: tuple[dt.datetime, str] | None, limit: int) -> list[CredentialChange]:
        request = kv.ListCredentialChangesRequest(limit=limit)
        if position is not None:
            request.after_changed_at.CopyFrom(timestamp(position[0]))
            request.after_credential_id = position[1]
        reply = self.backend.call("ListCredentialChanges", request)
        return [
            CredentialChange(c.credential_id, c.account_id, c.deleted, c.changed_at.ToDatetime(dt.UTC))
            for c in reply.changes
        ]


class KeyvaultCredentials:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 5.0) -> KeyvaultCredentials:
        channel = secure_channel(address, tls, KEYVAULT_SERVICE, RETRY_SAFE)
        return cls(Backend(channel, keyvault_pb2_grpc.KeyVaultServiceStub, timeout_s))

    def get(self, account_id: str, credential_id: str) -> CredentialInfo:
        request = kv.GetCredentialRequest(account_id=account_id, credential_id=credential_id)
        credential = self._call("GetCredential", request).credential
        return CredentialInfo(credential.id, credential.platform, credential.status)

    def reveal(self, account_id: str, credential_id: str) -> tuple[str, str]:
        request = kv.RevealCredentialRequest(account_id=account_id, credential_id=credential_id)
        response = self._call("RevealCredential", request)
        return response.platform, response.api_key

    def mark_invalid(self, account_id: str, credential_id: str, message: str) -> None:
        self._update(account_id, credential_id, "invalid", message, None)

    def mark_synced(self, account_id: str, credential_id: str, at: dt.datetime, message: str = "") -> None:
        """Active and synced at ``at``; ``message`` says what the sync could not give ("" clears it)."""
        self._update(account_id, credential_id, "active", message, at)

    def note(self, account_id: str, credential_id: str, message: str) -> None:
        """A message on an active key (why its syncs are paused; "" clears it). An invalid key
        keeps its own message, which says what to fix first."""
        if self.get(account_id, credential_id).status == "active":
            self._update(account_id, credential_id, "active", message, None)

    def _update(
        self, account_id: str, credential_id: str, status: str, message: str, at: dt.datetime | None
    ) -> None:
        request = kv.UpdateCredentialStatusRequest(
            account_id=account_id, credential_id=credential_id, status=status, status_message=message[:500]
        )
        if at is not None:
            request.last_sync_at.CopyFrom(timestamp(at))
        self._call("UpdateCredentialStatus", request)

    def _call(self, method: str, request: object):  # noqa: ANN202 (a generated message)
        try:
            return self.backend.call(method, request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            if code == grpc.StatusCode.NOT_FOUND:
                raise CredentialGone() from None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise KeyvaultUnavailable() from None
            log.error(
                "keyvault call failed", extra={"method": method, "grpc_code": getattr(code, "name", "?")}
            )
            raise
