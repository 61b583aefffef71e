"""The connector interface: fetch one provider's daily records for a key and a range.

``Connector.fetch(api_key, start, end)`` yields one ``DayResult`` per UTC day,
oldest first, so the caller can store each completed day as it arrives and
report the days that failed. Whole-run problems are raised instead:
``InvalidCredential`` (the user must fix the key) and ``ProviderUnavailable``
(try later); days already yielded stay valid.
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

from ..records import DecimalParseError, UsageRecord, merge_records
from .errors import (
    AuthRejected,
    ConnectorError,
    InvalidCredential,
    ProviderRejected,
    ProviderUnavailable,
    UnexpectedShape,
)
from .http import HttpClient, Params

__all__ = [
    "Connector",
    "DayResult",
    "DayBuckets",
    "ConnectorError",
    "InvalidCredential",
    "ProviderRejected",
    "ProviderUnavailable",
    "UnexpectedShape",
    "HttpClient",
    "base_url_for",
    "BASE_URL_ENV_PREFIX",
]

BASE_URL_ENV_PREFIX = "PROVIDER_BASE_URL_"
MAX_PAGES = 1000  # a provider looping on its cursor must not hang a sync
# Errors that mean "this JSON is not what the docs describe".
SHAPE_ERRORS = (KeyError, TypeError, AttributeError, IndexError, DecimalParseError, ValueError)


def base_url_for(platform: str, default: str, env: Mapping[str, str] | None = None) -> str:
    """Provider base URL: ``PROVIDER_BASE_URL_<PLATFORM>`` if set, else the real endpoint.

    Tests and e2e stacks pass their fake server's URL through ``env``.
    """
    env = os.environ if env is None else env
    value = (env.get(BASE_URL_ENV_PREFIX + platform.upper()) or default).strip()
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{BASE_URL_ENV_PREFIX}{platform.upper()} must be an http(s) URL")
    return value.rstrip("/")


@dataclass(frozen=True)
class DayResult:
    """The outcome for one UTC day: its records, or the error that failed it."""

    day: date
    records: tuple[UsageRecord, ...] = ()
    error: ConnectorError | None = None
    provisional: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class DayBuckets:
    """Collects partial records per day for one fetch window; a bad row fails its day."""

    def __init__(self, first: date, last: date) -> None:
        self.first, self.last = first, last
        self.records: dict[date, list[UsageRecord]] = {d: [] for d in iter_days(first, last)}
        self.errors: dict[date, ConnectorError] = {}

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last

    def add(self, record: UsageRecord) -> None:
        if self.covers(record.date):
            self.records[record.date].append(record)

    def fail(self, day: date, error: ConnectorError) -> None:
        if self.covers(day):
            self.errors.setdefault(day, error)

    def fail_all(self, error: ConnectorError) -> None:
        for day in self.records:
            self.fail(day, _for_day(error, day))

    @contextmanager
    def guard(self, day: date | None, what: str) -> Iterator[None]:
        """Turn a parse error inside the block into a clear failure of ``day``."""
        try:
            yield
        except UnexpectedShape as exc:
            self._fail_shape(day, f"{what}: {exc.detail}")
        except SHAPE_ERRORS as exc:
            self._fail_shape(day, f"{what}: {type(exc).__name__}: {exc}")

    def add_bucket(
        self,
        bucket: Any,
        what: str,
        day_of: Callable[[Any], date],
        parse: Callable[[date, dict[str, Any]], UsageRecord],
    ) -> None:
        """One daily bucket of the OpenAI/Anthropic admin envelope: a start time and a list of
        `results`. A bad start fails the whole range; a bad result fails only its day."""
        day = None
        with self.guard(None, what):
            day = day_of(bucket)
        if day is None:
            return
        with self.guard(day, what):
            results = bucket["results"]
            if not isinstance(results, list):
                raise UnexpectedShape(day, "'results' is not a list")
            for result in results:
                self.add(parse(day, result))

    def _fail_shape(self, day: date | None, detail: str) -> None:
        if day is None:
            self.fail_all(UnexpectedShape(None, detail))
        else:
            self.fail(day, UnexpectedShape(day, detail))


class Connector(ABC):
    """Base class: HTTP, auth-error translation, pagination and the day loop.

    Build one instance per sync: an instance runs one ``fetch`` at a time.
    """

    platform: ClassVar[str]
    default_base_url: ClassVar[str]
    invalid_key_message: ClassVar[str]
    window_days: ClassVar[int] = 31  # days fetched per request batch (provider limits)
    provisional_days: ClassVar[int] = 3  # providers revise the latest days

    def __init__(
        self,
        *,
        http: HttpClient | None = None,
        base_url: str | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.http = http or HttpClient()
        self.base_url = (base_url or base_url_for(self.platform, self.default_base_url, env)).rstrip("/")
        self._clock = clock or (lambda: datetime.now(UTC))

    def fetch(self, api_key: str, start: date, end: date) -> Iterator[DayResult]:
        """Yield a DayResult for every day in ``[start, end]`` up to today (UTC)."""
        if end < start:
            raise ValueError("end must not be before start")
        today = self._clock().astimezone(UTC).date()
        end = min(end, today)
        provisional_from = today - timedelta(days=self.provisional_days - 1)
        first = start
        while first <= end:
            last = min(end, first + timedelta(days=self.window_days - 1))
            buckets = DayBuckets(first, last)
            try:
                self._fetch_window(api_key, buckets)
            except (UnexpectedShape, ProviderRejected) as exc:
                buckets.fail_all(exc)
            for day, parts in buckets.records.items():
                provisional = day >= provisional_from
                error = buckets.errors.get(day)
                if error is not None:
                    yield DayResult(day, (), error, provisional)
                    continue
                merged = merge_records(parts)
                if provisional:
                    merged = [dataclasses.replace(r, provisional=True) for r in merged]
                yield DayResult(day, tuple(merged), None, provisional)
            first = last + timedelta(days=1)

    @abstractmethod
    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        """Fetch ``buckets.first..buckets.last`` and add records or day failures."""

    @abstractmethod
    def _headers(self, api_key: str) -> dict[str, str]:
        """The provider's auth headers."""

    def _get(self, api_key: str, path: str, params: Params | None = None) -> Any:
        try:
            return self.http.get_json(self.base_url + path, headers=self._headers(api_key), params=params)
        except AuthRejected as exc:
            detail = exc.detail.replace(api_key, "***") if api_key else exc.detail
            raise InvalidCredential(
                self.invalid_key_message, status=exc.status, provider_detail=detail
            ) from None

    def _paginate(self, api_key: str, path: str, params: Sequence[tuple[str, str | int]]) -> Iterator[dict]:
        """Follow ``has_more``/``next_page`` (OpenAI and Anthropic style) to the end."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = list(params) + ([("page", cursor)] if cursor else [])
            body = self._get(api_key, path, query)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise UnexpectedShape(None, f"{path}: expected an object with a 'data' list")
            yield body
            cursor = body.get("next_page")
            if not body.get("has_more") or not cursor:
                return
            if not isinstance(cursor, str) or cursor in seen:
                raise UnexpectedShape(None, f"{path}: pagination cursor repeated or invalid")
            seen.add(cursor)
        raise UnexpectedShape(None, f"{path}: more than {MAX_PAGES} pages")


def iter_days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def unix_day(seconds: Any) -> date:
    """The UTC day a bucket starting at ``seconds`` belongs to."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(f"expected integer unix seconds, got {seconds!r}")
    return datetime.fromtimestamp(seconds, UTC).date()


def _for_day(error: ConnectorError, day: date) -> ConnectorError:
    if isinstance(error, UnexpectedShape) and error.day is None:
        return UnexpectedShape(day, error.detail)
    return error
