"""Deepgram billing breakdown (USD per line item) + usage breakdown (hours, characters).

Auth: ``Authorization: Token <key>``; the key needs read access to usage/billing.
Both endpoints are per project, so the projects the key can see are listed
first and summed.

Dates: ``start`` and ``end`` are whole dates (YYYY-MM-DD). Deepgram's reference does not
say whether ``end`` is inclusive. So a window ``first..last`` is asked as
``start=first&end=last+1``, and every result row is placed on the day its own
``grouping.start`` names (the breakdown is per day: ``resolution`` is one day). Rows
for ``last+1``, which only an inclusive ``end`` returns, are dropped. Either reading
gives the same records. A row without a day, or one spanning more than one day,
fails the window instead of being guessed at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..records import UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_decimal
from .base import Connector, DayBuckets, DayResult, UnexpectedShape

PROJECTS_PATH = "/v1/projects"  # below the API root https://api.deepgram.com (the SDK default)
_SECONDS_PER_HOUR = Decimal(3600)
# usage breakdown field -> (normalized unit, multiplier)
_USAGE_UNITS: dict[str, tuple[str, Decimal]] = {
    "hours": ("seconds", _SECONDS_PER_HOUR),
    "agent_hours": ("agent_seconds", _SECONDS_PER_HOUR),
    "tts_characters": ("characters", Decimal(1)),
    "tokens_in": ("input_uncached_tokens", Decimal(1)),  # svccommon.units: no prompt cache here
    "tokens_out": ("output_tokens", Decimal(1)),
    "requests": ("requests", Decimal(1)),
}


def line_item_model(line_item: str | None) -> str:
    """``"streaming::nova-3"`` -> ``"nova-3"`` (the part after the method)."""
    if not line_item:
        return UNATTRIBUTED_MODEL
    return line_item.rsplit("::", 1)[-1] or UNATTRIBUTED_MODEL


class DeepgramConnector(Connector):
    platform = "deepgram"
    default_base_url = "https://api.deepgram.com"
    invalid_key_message = (
        "Deepgram rejected this key or it cannot read usage and billing. Create an API key with "
        "the Member role or higher (usage:read and billing:read) in the Deepgram Console: "
        "https://console.deepgram.com/ > your project > API Keys."
    )
    window_days = 31  # one request per endpoint and project per 31 days, split by the per-day rows

    _projects: dict[str, str] | None = None  # project id -> name

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Token {api_key}"}

    def fetch(self, api_key: str, start: date, end: date) -> Iterator[DayResult]:
        self._projects = None  # listed once per sync, lazily on the first day
        yield from super().fetch(api_key, start, end)

    def _project_ids(self, api_key: str) -> list[str]:
        if self._projects is None:
            body = self._get(api_key, PROJECTS_PATH)
            try:
                self._projects = {str(p["project_id"]): str(p.get("name") or "") for p in body["projects"]}
            except (KeyError, TypeError, AttributeError) as exc:
                raise UnexpectedShape(None, f"{PROJECTS_PATH}: {exc!r}") from None
        return list(self._projects)

    def names(self, api_key: str) -> dict[str, dict[str, str]]:
        """Project names from GET /v1/projects (listed again: a sync's list may be stale)."""
        self._projects = None
        self._project_ids(api_key)
        return {"project": dict(self._projects or {})}

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        projects = self._project_ids(api_key)
        after = buckets.last + timedelta(days=1)  # right whether `end` is inclusive or exclusive
        params: list[tuple[str, str | int]] = [
            ("start", buckets.first.isoformat()),
            ("end", after.isoformat()),
        ]
        for project in projects:
            base = f"{PROJECTS_PATH}/{project}"
            # A ProviderRejected fails the whole window (base.Connector.fetch).
            billing = self._get(api_key, f"{base}/billing/breakdown", params + [("grouping", "line_item")])
            usage = self._get(api_key, f"{base}/usage/breakdown", params + [("grouping", "models")])
            # Each project's rows are attributed to it (docs/providers.md, Attribution).
            self._read(buckets, "billing/breakdown", billing, _in_project(self._billing_record, project))
            self._read(buckets, "usage/breakdown", usage, _in_project(self._usage_record, project))

    def _read(
        self,
        buckets: DayBuckets,
        what: str,
        body: Any,
        parse: Callable[[date, dict[str, Any]], UsageRecord],
    ) -> None:
        placed: list[tuple[date, dict[str, Any]]] = []
        with buckets.guard(None, what):
            results = body["results"]
            if not isinstance(results, list):
                raise UnexpectedShape(None, "'results' is not a list")
            resolution = body.get("resolution")
            if resolution is not None and (resolution.get("units"), resolution.get("amount")) != ("day", 1):
                raise UnexpectedShape(None, f"resolution {resolution!r}, expected one day")
            placed = [(row_day(result), result) for result in results]
        after = buckets.last + timedelta(days=1)
        for day, result in placed:  # empty when the guard above failed the window
            if day == after:
                continue  # the extra day an inclusive `end` returns
            if not buckets.covers(day):
                buckets.fail_all(UnexpectedShape(None, f"{what}: result for {day} outside the request"))
                return
            with buckets.guard(day, what):
                buckets.add(parse(day, result))

    def _billing_record(self, day: date, result: dict[str, Any]) -> UsageRecord:
        usd = to_decimal(result["dollars"])  # dollars are USD already
        line_item = (result.get("grouping") or {}).get("line_item")
        item = LineItem(name=str(line_item or "unspecified"), quantity=None, unit="", cost_usd=usd)
        return UsageRecord(
            self.platform,
            day,
            line_item_model(line_item),
            "api",
            cost_usd=usd,
            line_items=(item,),
            amount_original=usd,
        )

    def _usage_record(self, day: date, result: dict[str, Any]) -> UsageRecord:
        units: dict[str, int] = {}
        for field, (unit, factor) in _USAGE_UNITS.items():
            if result.get(field) is not None:
                exact = to_decimal(result[field]) * factor
                units[unit] = int(exact.to_integral_value(ROUND_HALF_UP))
        # Usage is grouped by model names; they may not match billing's line
        # item names, in which case both records are kept separately.
        models = [str(m) for m in ((result.get("grouping") or {}).get("models") or []) if m]
        model = ",".join(models) or UNATTRIBUTED_MODEL
        return UsageRecord(self.platform, day, model, "api", units={k: v for k, v in units.items() if v})


def _in_project(
    parse: Callable[[date, dict[str, Any]], UsageRecord], project: str
) -> Callable[[date, dict[str, Any]], UsageRecord]:
    return lambda day, result: dataclasses.replace(parse(day, result), project_id=project)


def row_day(result: Any) -> date:
    """The day a breakdown row covers: ``grouping.start``; a row over several days is refused."""
    grouping = result.get("grouping")
    if not isinstance(grouping, dict) or not grouping.get("start"):
        raise UnexpectedShape(None, "a result has no grouping.start, so its day is unknown")
    start = date.fromisoformat(str(grouping["start"])[:10])
    end = grouping.get("end")
    if end:
        # One day reads start=end (inclusive label) or end=start+1 (exclusive label).
        span = (date.fromisoformat(str(end)[:10]) - start).days
        if span not in (0, 1):
            raise UnexpectedShape(None, f"a result covers {start}..{str(end)[:10]}, not one day")
    return start
