"""The usage service's way to send an alert email: auth sends it (auth alone holds the mail
provider's key), so this is a client of auth's SendAlertEmail. Errors become one AlertMailError
that says whether trying again later (with the same key) can help."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import grpc
from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from svccommon.channels import Backend, secure_channel, trailing_metadata
from svccommon.config import TlsFiles

log = logging.getLogger(__name__)

AUTH_SERVICE = "aicosts.auth.v1.AuthService"
# Worth another try later: auth or the mail provider was down or slow, or the daily cap is reached
# (it resets at UTC midnight). Any other refusal stays the same however often it is repeated.
RETRYABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)


class AlertMailError(Exception):
    """The alert email was not (fully) sent. str(): why. `retryable`: the same call, with the same
    key, may succeed later (addresses already mailed are never mailed again). `retry_after_s`: when
    auth said how long to wait (the daily cap), else None."""

    def __init__(self, reason: str, *, retryable: bool, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class AlertMailer(Protocol):
    def send(
        self, account_id: str, *, to_owner: bool, to: Sequence[str], subject: str, text: str, key: str
    ) -> list[str]:
        """Mail the alert; the addresses that have it (now or from an earlier call with `key`)."""
        ...


class AuthAlertMailer:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 15.0) -> AuthAlertMailer:
        # No automatic retries: an UNAVAILABLE can be the mail provider's refusal, which the
        # caller retries later with the same key rather than at once.
        channel = secure_channel(address, tls, AUTH_SERVICE)
        return cls(Backend(channel, auth_pb2_grpc.AuthServiceStub, timeout_s))

    def send(
        self, account_id: str, *, to_owner: bool, to: Sequence[str], subject: str, text: str, key: str
    ) -> list[str]:
        request = auth_pb2.SendAlertEmailRequest(
            account_id=account_id,
            to_owner=to_owner,
            to=list(to),
            subject=subject,
            text=text,
            idempotency_key=key,
        )
        try:
            response = self.backend.call("SendAlertEmail", request)
        except grpc.RpcError as exc:
            raise _error(exc) from None
        return [*response.sent_to, *response.already_sent_to]

    def close(self) -> None:
        self.backend.channel.close()


def _error(exc: grpc.RpcError) -> AlertMailError:
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    name = getattr(code, "name", "UNKNOWN")
    log.warning("alert email not sent", extra={"grpc_code": name})
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        reason = f"auth could not send the alert email now ({name}): {details}"
    else:
        reason = f"auth refused the alert email ({name}): {details}"  # auth's details are safe to show
    return AlertMailError(reason, retryable=code in RETRYABLE, retry_after_s=_retry_after(exc))


def _retry_after(exc: grpc.RpcError) -> int | None:
    retry_after = trailing_metadata(exc).get("retry-after", "")
    return int(retry_after) if retry_after.isdigit() else None
