"""ElevenLabs character usage per model per day; cost estimated from a price table.

ElevenLabs exposes no money per day, only character (credit) counts, so every
record is ``estimated``. Prices come from the bundled ``genai-prices`` data;
when it has no per-character price for a model the cost stays 0 with a
``price_unknown`` line item and warning: we never invent a price.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..records import PRICE_UNKNOWN, UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_decimal
from .base import Connector, DayBuckets, HttpClient, UnexpectedShape, day_start

STATS_PATH = "/usage/character-stats"
TOTAL_KEY = "All"  # the breakdown key for breakdown_type=none (a total)

PriceLookup = Callable[[str, date], Decimal | None]


def genai_character_price(model: str, day: date) -> Decimal | None:
    """USD per character for an ElevenLabs model from genai-prices, or None."""
    try:
        from genai_prices import data_snapshot
    except ImportError:  # pragma: no cover - the package is a declared dependency
        return None
    try:
        provider = data_snapshot.get_snapshot().find_provider(None, "elevenlabs", None)
        info = provider.find_model(model)
    except LookupError:
        return None
    if info is None:
        return None
    per_million = info.get_prices(day_start(day)).input_mchars
    if not isinstance(per_million, Decimal):
        return None  # absent, or tiered pricing we cannot apply to a daily total
    return per_million / 1_000_000


class ElevenLabsConnector(Connector):
    platform = "elevenlabs"
    default_base_url = "https://api.elevenlabs.io/v1"
    invalid_key_message = (
        "ElevenLabs rejected this API key or it lacks access to usage data. Create a key at "
        "https://elevenlabs.io/app/settings/api-keys with read access to usage "
        "(workspace usage also needs workspace admin permissions)."
    )

    def __init__(
        self,
        *,
        http: HttpClient | None = None,
        base_url: str | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        price_lookup: PriceLookup = genai_character_price,
        include_workspace_metrics: bool = False,
    ) -> None:
        super().__init__(http=http, base_url=base_url, env=env, clock=clock)
        self._price = price_lookup
        self._workspace = include_workspace_metrics

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"xi-api-key": api_key}

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        start_ms = int(day_start(buckets.first).timestamp() * 1000)
        # Inclusive end at 23:59:59.999 of the last day, as the API docs advise.
        end_ms = int(day_start(buckets.last + timedelta(days=1)).timestamp() * 1000) - 1
        params: list[tuple[str, str | int]] = [
            ("start_unix", start_ms),
            ("end_unix", end_ms),
            ("breakdown_type", "model"),
            ("aggregation_interval", "day"),
        ]
        if self._workspace:
            params.append(("include_workspace_metrics", "true"))
        body = self._get(api_key, STATS_PATH, params)
        with buckets.guard(None, STATS_PATH):
            for day, model, value in _series(body):
                if value:
                    buckets.add(self._record(day, model, value))

    def _record(self, day: date, model: str, characters: Decimal) -> UsageRecord:
        count = int(characters.to_integral_value(ROUND_HALF_UP))
        price = self._price(model, day)
        if price is None:
            item = LineItem(name=PRICE_UNKNOWN, quantity=characters, unit="characters", cost_usd=Decimal(0))
            return UsageRecord(
                self.platform,
                day,
                model,
                "api",
                units={"characters": count},
                line_items=(item,),
                estimated=True,
                warnings=(PRICE_UNKNOWN,),
            )
        cost = characters * price
        item = LineItem(name=f"{model} characters", quantity=characters, unit="characters", cost_usd=cost)
        return UsageRecord(
            self.platform,
            day,
            model,
            "api",
            cost_usd=cost,
            units={"characters": count},
            line_items=(item,),
            estimated=True,
        )


def _series(body: Any) -> list[tuple[date, str, Decimal]]:
    """Flatten ``{"time": [ms...], "usage": {model: [values...]}}`` into day rows."""
    if not isinstance(body, dict):
        raise UnexpectedShape(None, "expected an object")
    times, usage = body["time"], body["usage"]
    if not isinstance(times, list) or not isinstance(usage, dict):
        raise UnexpectedShape(None, "'time' must be a list and 'usage' an object")
    days = [_ms_day(ms) for ms in times]
    keys = [k for k in usage if k != TOTAL_KEY] or list(usage)  # "All" is a total
    rows: list[tuple[date, str, Decimal]] = []
    for key in keys:
        values = usage[key]
        if not isinstance(values, list) or len(values) != len(days):
            raise UnexpectedShape(None, f"series {key!r} does not align with 'time'")
        model = UNATTRIBUTED_MODEL if key == TOTAL_KEY else str(key)
        rows.extend((day, model, to_decimal(v)) for day, v in zip(days, values, strict=True))
    return rows


def _ms_day(ms: Any) -> date:
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise TypeError(f"expected integer milliseconds, got {ms!r}")
    return datetime.fromtimestamp(ms // 1000, UTC).date()
