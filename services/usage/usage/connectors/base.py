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
    # Why the provider's API cannot give this day at all (outside the window it serves). Such a
    # day is never requested: it is neither stored nor failed, only reported.
    unavailable: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.unavailable


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
    # The days the provider's API serves, counted back from today (UTC): None means no limit;
    # N means only the N completed days before today. ``serves_today`` False: the API refuses
    # the current, unfinished day. Days outside are never requested (see ``unavailable_reason``).
    history_days: ClassVar[int | None] = None
    serves_today: ClassVar[bool] = True
    history_reason: ClassVar[str] = ""  # why, in words for the user (with the limit above)

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
        """Yield a DayResult for every day in ``[start, end]`` up to today (UTC).

        Days the provider's API does not serve (``served_days``) are yielded as ``unavailable``
        without a request: asking would only earn a 400.
        """
        if end < start:
            raise ValueError("end must not be before start")
        today = self._clock().astimezone(UTC).date()
        end = min(end, today)
        provisional_from = today - timedelta(days=self.provisional_days - 1)
        earliest, latest = self.served_days(today)
        first = max(start, earliest) if earliest is not None else start
        served_end = min(end, latest)
        for day in iter_days(start, min(end, first - timedelta(days=1))):
            yield self._unavailable(day, today, provisional_from)
        while first <= served_end:
            last = min(served_end, first + timedelta(days=self.window_days - 1))
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
        for day in iter_days(max(start, latest + timedelta(days=1)), end):
            yield self._unavailable(day, today, provisional_from)

    def _unavailable(self, day: date, today: date, provisional_from: date) -> DayResult:
        reason = self.unavailable_reason(day, today)
        return DayResult(day, provisional=day >= provisional_from, unavailable=reason)

    def served_days(self, today: date) -> tuple[date | None, date]:
        """The first (None: no limit) and last day the provider's API answers for, given today."""
        earliest = today - timedelta(days=self.history_days) if self.history_days is not None else None
        latest = today if self.serves_today else today - timedelta(days=1)
        return earliest, latest

    def unavailable_reason(self, day: date, today: date) -> str:
        """Why the API cannot give ``day`` ("" when it can)."""
        earliest, latest = self.served_days(today)
        if day > latest:
            if day == today:
                return "today is not over yet and the API only serves completed UTC days; it is read tomorrow"
            return "the day has not happened yet"
        if earliest is not None and day < earliest:
            return self.history_reason or f"the API keeps only the last {self.history_days} days"
        return ""

    def names(self, api_key: str) -> dict[str, dict[str, str]]:
        """The provider's current names of its attribution ids: ``{"project": {id: name},
        "api_key": {id: name}}``. Providers without a listing return nothing."""
        return {}

    def _list_all(
        self, api_key: str, path: str, params: Sequence[tuple[str, str | int]], cursor_param: str
    ) -> Iterator[dict[str, Any]]:
        """Every item of a ``{data, has_more, last_id}`` list (OpenAI ``after``, Anthropic
        ``after_id`` cursors)."""
        after: str | None = None
        for _ in range(MAX_PAGES):
            query = list(params) + ([(cursor_param, after)] if after else [])
            body = self._get(api_key, path, query)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise UnexpectedShape(None, f"{path}: expected an object with a 'data' list")
            for item in body["data"]:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise UnexpectedShape(None, f"{path}: an item has no 'id'")
                yield item
            last = body.get("last_id")
            if not body.get("has_more"):
                return
            if not isinstance(last, str) or not last or last == after:
                raise UnexpectedShape(None, f"{path}: 'has_more' is true but 'last_id' does not advance")
            after = last
        raise UnexpectedShape(None, f"{path}: more than {MAX_PAGES} pages")

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
            more, cursor = body.get("has_more"), body.get("next_page")
            if more is not None and not isinstance(more, bool):
                raise UnexpectedShape(None, f"{path}: 'has_more' is not a boolean")
            if more and not cursor:
                # The provider says there is more but gives no way to ask for it: keeping what
                # came would store partial days as if complete, so the whole window fails.
                raise UnexpectedShape(None, f"{path}: 'has_more' is true but there is no 'next_page' cursor")
            if more and (not isinstance(cursor, str) or cursor in seen):
                raise UnexpectedShape(None, f"{path}: pagination cursor repeated or invalid")
            yield body
            if not more or not isinstance(cursor, str):
                return
            seen.add(cursor)
        raise UnexpectedShape(None, f"{path}: more than {MAX_PAGES} pages")


def iter_days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def bucket_day(start: datetime) -> date:
    """The UTC day a daily bucket starting at ``start`` belongs to: the one holding most of it
    (its middle, start + 12 h). Not the day of its start: a provider whose days begin at local
    midnight starts a bucket at 08:00 UTC (US Pacific, same date) or at 15:00 UTC the day before
    (Tokyo); by its start the Tokyo day would land a day early, by its middle every day lands on
    the date the provider gives it."""
    return (start.astimezone(UTC) + timedelta(hours=12)).date()


def unix_day(seconds: Any) -> date:
    """The UTC day a daily bucket starting at ``seconds`` belongs to (``bucket_day``)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(f"expected integer unix seconds, got {seconds!r}")
    return bucket_day(datetime.fromtimestamp(seconds, UTC))


def _for_day(error: ConnectorError, day: date) -> ConnectorError:
    if isinstance(error, UnexpectedShape) and error.day is None:
        return UnexpectedShape(day, error.detail)
    return error
