"""Errors a connector raises; the sync run maps them to run/day status."""

from __future__ import annotations

from datetime import date


class ConnectorError(Exception):
    """Base class for every connector failure."""


class InvalidCredential(ConnectorError):
    """The provider refused the key (401/403): the user must act.

    ``message_for_user`` is safe to show: it never contains the key and says
    what kind of key is needed and where to create it.
    """

    def __init__(
        self, message_for_user: str, *, status: int | None = None, provider_detail: str = ""
    ) -> None:
        super().__init__(message_for_user)
        self.message_for_user = message_for_user
        self.status = status
        self.provider_detail = provider_detail


class ProviderUnavailable(ConnectorError):
    """Network errors, 5xx or 429 persisted after bounded retries: try again later.

    ``rate_limited``: the provider answered, with 429 (the key's quota, not an outage);
    ``retry_after_s``: how long it asked us to wait, when it said so."""

    def __init__(
        self, detail: str, *, rate_limited: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rate_limited = rate_limited
        self.retry_after_s = retry_after_s


class ProviderRejected(ConnectorError):
    """A non-retryable 4xx other than 401/403 (bad request, not found, ...)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class UnexpectedShape(ConnectorError):
    """A response we cannot read; fails that day clearly instead of reporting zero.

    ``day`` is None when the failure concerns a whole request (e.g. the page
    envelope); the connector then fails every day that request covered.
    """

    def __init__(self, day: date | None, detail: str) -> None:
        where = day.isoformat() if day else "request"
        super().__init__(f"unexpected response shape ({where}): {detail}")
        self.day = day
        self.detail = detail


class AuthRejected(ConnectorError):
    """Raised by the HTTP helper on 401/403; connectors turn it into InvalidCredential."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.detail = detail
