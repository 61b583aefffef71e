"""Auth's domain errors: svccommon ServiceErrors that also carry trailing metadata for the gateway
(which field was bad; how long to wait), attached by the servicer before the status is sent."""

from __future__ import annotations

from svccommon.errors import InvalidArgument, PermissionDenied, ResourceExhausted, Unauthenticated
from svccommon.standing import unverified_detail, unverified_metadata

# One message for every failed sign-in, whatever the reason (ASVS 6.3.8: no enumeration).
BAD_CREDENTIALS = "The email or password is incorrect."
BAD_CODE = "The code is incorrect or has already been used."


class FieldInvalid(InvalidArgument):
    """Bad input in one named field; the gateway turns it into a validation problem."""

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.metadata: tuple[tuple[str, str], ...] = (("x-field", field), ("x-error-code", code))


class Throttled(ResourceExhausted):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.metadata = (("retry-after", str(retry_after)),)


class MailQueueFull(ResourceExhausted):
    """Too many emails are waiting: the gateway answers 503 with Retry-After (the request did
    nothing, so trying again later is safe)."""

    RETRY_AFTER_S = 30

    def __init__(self) -> None:
        super().__init__("Too many emails are waiting to be sent. Try again in a minute.")
        self.metadata = (
            ("x-problem-status", "503"),
            ("x-problem-kind", "mail-queue-full"),
            ("retry-after", str(self.RETRY_AFTER_S)),
        )


class EmailUnverified(PermissionDenied):
    def __init__(self, action: str) -> None:
        super().__init__(unverified_detail(action))
        self.metadata = unverified_metadata()


def bad_credentials() -> Unauthenticated:
    return Unauthenticated(BAD_CREDENTIALS)
