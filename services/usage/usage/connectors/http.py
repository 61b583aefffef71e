"""Shared HTTP helper for connectors: timeouts, bounded retries, exact JSON numbers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from .errors import AuthRejected, ProviderRejected, ProviderUnavailable, UnexpectedShape

log = logging.getLogger(__name__)

# A list of pairs lets a key repeat (group_by=a&group_by=b), as providers expect.
Params = Sequence[tuple[str, str | int]] | Mapping[str, str | int]

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_USER_AGENT = "AICosts-usage-connector/0.1 (+billing and usage read-only)"
_DETAIL_LIMIT = 300


class HttpClient:
    """GET JSON from provider APIs with retries that cannot hang a sync forever.

    Retries 429/5xx/network errors up to ``max_attempts`` in total, waiting the
    provider's ``Retry-After`` when given (capped at ``retry_after_max``) and an
    exponential backoff otherwise. ``sleep`` is injectable so tests never wait.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._session = session or requests.Session()
        self._timeout = timeout
        self.max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._sleep = sleep
        self._user_agent = user_agent

    def get_json(self, url: str, *, headers: Mapping[str, str], params: Params | None = None) -> Any:
        """Return the decoded body; numbers with a fraction come back as Decimal."""
        all_headers = {"User-Agent": self._user_agent, "Accept": "application/json", **headers}
        last_problem, rate_limited, hinted = "", False, None
        for attempt in range(1, self.max_attempts + 1):
            try:
                resp = self._session.get(url, headers=all_headers, params=params, timeout=self._timeout)
            except requests.Timeout as exc:
                # Say which deadline passed: "no answer" is what the user can act on (or wait out).
                connect = isinstance(exc, requests.ConnectTimeout)
                limit = self._timeout[0] if connect else self._timeout[1]
                last_problem = f"no {'connection' if connect else 'answer'} within {limit:g} s"
                delay, rate_limited, hinted = self._backoff(attempt), False, None
            except requests.ConnectionError:
                last_problem, rate_limited, hinted = "could not connect", False, None
                delay = self._backoff(attempt)
            else:
                status = resp.status_code
                if status in (401, 403):
                    raise AuthRejected(status, error_detail(resp))
                if status in RETRYABLE_STATUSES:
                    last_problem, rate_limited = f"HTTP {status}", status == 429
                    hinted = parse_retry_after(resp.headers.get("Retry-After"))
                    delay = self._retry_delay(resp, attempt)
                elif status >= 400:
                    raise ProviderRejected(status, error_detail(resp))
                else:
                    return decode_json(resp)
            # The path only: query strings may carry account identifiers.
            if not self.wait_before_retry(attempt, _path(url), last_problem, delay):
                break
        raise ProviderUnavailable(
            f"{last_problem} after {self.max_attempts} attempts ({_path(url)})",
            rate_limited=rate_limited,
            retry_after_s=hinted,
        )

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds per provider request, for clients of other libraries too."""
        return self._timeout

    def wait_before_retry(self, attempt: int, what: str, problem: str, delay: float | None = None) -> bool:
        """After a failed `attempt` at `what` (a path or an operation, never a query string):
        False when it was the last one allowed; otherwise log it, sleep `delay` (the back-off by
        default) and return True. Every connector's retry loop, HTTP or SDK, ends here."""
        if attempt >= self.max_attempts:
            return False
        delay = self._backoff(attempt) if delay is None else delay
        log.info(
            "retrying provider call",
            extra={"path": what, "problem": problem, "attempt": attempt, "delay_s": delay},
        )
        self._sleep(delay)
        return True

    def _backoff(self, attempt: int) -> float:
        return float(min(self._backoff_max, self._backoff_base * (2 ** (attempt - 1))))

    def _retry_delay(self, resp: requests.Response, attempt: int) -> float:
        hinted = parse_retry_after(resp.headers.get("Retry-After"))
        if hinted is None:
            return self._backoff(attempt)
        return min(max(hinted, 0.0), self._retry_after_max)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


def decode_json(resp: requests.Response) -> Any:
    # parse_float=Decimal: a float would already have lost cents on the way in.
    try:
        return json.loads(resp.text, parse_float=Decimal)
    except ValueError as exc:
        raise UnexpectedShape(None, f"response from {_path(resp.url)} is not JSON") from exc


def error_detail(resp: requests.Response) -> str:
    """A short provider error message for logs/run status (never the request)."""
    try:
        body = json.loads(resp.text)
    except ValueError:
        return resp.text[:_DETAIL_LIMIT]
    message: Any = body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message") or err.get("type") or err
        elif isinstance(err, str):
            message = err
        else:
            message = body.get("message") or body.get("err_msg") or body.get("detail") or body
    return str(message)[:_DETAIL_LIMIT]


def _path(url: str) -> str:
    return url.split("?", 1)[0]
