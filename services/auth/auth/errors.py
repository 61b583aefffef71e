"""Auth's domain errors: svccommon ServiceErrors that also carry trailing metadata for the gateway
(which field was bad; how long to wait), attached by the servicer before the status is sent."""

from __future__ import annotations

from svccommon.errors import InvalidArgument, ResourceExhausted, Unauthenticated

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


def bad_credentials() -> Unauthenticated:
    return Unauthenticated(BAD_CREDENTIALS)
