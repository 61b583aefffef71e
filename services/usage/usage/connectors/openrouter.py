"""OpenRouter activity: USD spent, tokens and requests per day and model.

Auth: a Management key as ``Authorization: Bearer``. The activity endpoint
answers only for the last 30 completed UTC days (today and older days earn a 400),
so the connector declares that window and never asks outside it: those days are
reported as unavailable, not failed. Inside the window it asks one day at a time,
so a problem with one day fails only that day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ..records import BYOK_BILLED_UPSTREAM, UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_count, to_decimal
from .base import Connector, DayBuckets, ProviderRejected, UnexpectedShape, iter_days

ACTIVITY_PATH = "/activity"
_UNITS = {
    "prompt_tokens": "input_unsplit_tokens",  # svccommon.units: no cached/uncached split given
    "completion_tokens": "output_tokens",
    "reasoning_tokens": "reasoning_tokens",
    "requests": "requests",
}


class OpenRouterConnector(Connector):
    platform = "openrouter"
    default_base_url = "https://openrouter.ai/api/v1"
    invalid_key_message = (
        "This key is not an OpenRouter management key. Create a Management (provisioning) key at "
        "https://openrouter.ai/settings/management-keys and connect that key instead of an inference key."
    )
    window_days = 1  # one request per day; yield each day as soon as it is read
    # GET /activity: "the last 30 (completed) UTC days"; `date` is "a single UTC date in the
    # last 30 days". Today is not completed, so it is not served either.
    history_days = 30
    serves_today = False
    history_reason = "OpenRouter's activity API keeps only the last 30 completed UTC days"

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        for day in iter_days(buckets.first, buckets.last):
            try:
                body = self._get(api_key, ACTIVITY_PATH, [("date", day.isoformat())])
            except ProviderRejected as exc:
                buckets.fail(day, exc)  # the day is inside the window: a real refusal
                continue
            with buckets.guard(day, ACTIVITY_PATH):
                rows = body["data"]
                if not isinstance(rows, list):
                    raise UnexpectedShape(day, "'data' is not a list")
                for row in rows:
                    buckets.add(self._record(day, row))

    def _record(self, day: date, row: dict[str, Any]) -> UsageRecord:
        row_day = date.fromisoformat(str(row["date"])[:10])
        if row_day != day:
            raise UnexpectedShape(day, f"row for {row_day} in the answer for {day}")
        usd = to_decimal(row["usage"])  # credits spent, in USD
        units = {unit: to_count(row[field]) for field, unit in _UNITS.items() if row.get(field) is not None}
        provider = row.get("provider_name") or "unknown provider"
        items = [LineItem(f"{provider} inference", units.get("requests"), "requests", usd)]
        warnings: tuple[str, ...] = ()
        byok = row.get("byok_usage_inference")
        byok_usd = to_decimal(byok) if byok is not None else Decimal(0)
        if byok_usd:
            # BYOK inference is paid to the upstream provider with the user's own
            # key: shown for context, not counted, to avoid double counting.
            items.append(
                LineItem(f"{provider} BYOK inference (billed by {provider})", byok_usd, "usd", Decimal(0))
            )
            warnings = (BYOK_BILLED_UPSTREAM,)
        model = row.get("model") or row.get("model_permaslug") or UNATTRIBUTED_MODEL
        return UsageRecord(
            self.platform,
            day,
            str(model),
            "api",
            cost_usd=usd,
            units=units,
            line_items=tuple(items),
            amount_original=usd,
            warnings=warnings,
        )
