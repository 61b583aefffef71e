"""ElevenLabs usage per model per day: characters and credits; cost estimated from a price table.

Endpoint: ``GET /v1/usage/character-stats`` (docs/providers.md says why this one and not the
workspace analytics query that replaces it). It is asked twice per window, once per metric
ElevenLabs bills on: ``tts_characters`` (text-to-speech characters) and ``credits`` (what
every product draws from the plan). ``include_workspace_metrics=true`` counts the whole
workspace; when the key may not see it (a key that is not a workspace admin's), the connector
falls back to the key owner's usage and flags the records ``workspace_usage_not_included``.

ElevenLabs exposes no money per day, so every record is ``estimated``: the cost is the
characters times the per-character price from the bundled ``genai-prices`` data. When there is
no such price (or the usage is credits with no characters to price), the cost stays 0 with a
``price_unknown`` line item and warning: we never invent a price.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from svccommon import units as u

from ..records import (
    PRICE_UNKNOWN,
    UNATTRIBUTED_MODEL,
    WORKSPACE_USAGE_NOT_INCLUDED,
    LineItem,
    UsageRecord,
    to_decimal,
)
from .base import (
    Connector,
    DayBuckets,
    DayResult,
    HttpClient,
    InvalidCredential,
    ProviderRejected,
    UnexpectedShape,
    day_start,
)

STATS_PATH = "/v1/usage/character-stats"  # below the API root https://api.elevenlabs.io
TOTAL_KEY = "All"  # the breakdown key for breakdown_type=none (a total)
# metric parameter value -> canonical unit (svccommon.units)
METRICS = {"tts_characters": u.CHARACTERS, "credits": u.CREDITS}

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
    default_base_url = "https://api.elevenlabs.io"
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
        include_workspace_metrics: bool = True,
    ) -> None:
        super().__init__(http=http, base_url=base_url, env=env, clock=clock)
        self._price = price_lookup
        self._want_workspace = include_workspace_metrics
        self._workspace = include_workspace_metrics  # cleared for a fetch when the key may not

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"xi-api-key": api_key}

    def fetch(self, api_key: str, start: date, end: date) -> Iterator[DayResult]:
        self._workspace = self._want_workspace
        yield from super().fetch(api_key, start, end)

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        start_ms = int(day_start(buckets.first).timestamp() * 1000)
        # Inclusive end at 23:59:59.999 of the last day, as the API docs advise.
        end_ms = int(day_start(buckets.last + timedelta(days=1)).timestamp() * 1000) - 1
        # (day, model) -> unit -> exact value, over both metrics
        totals: dict[tuple[date, str], dict[str, Decimal]] = {}
        for metric, unit in METRICS.items():
            params: list[tuple[str, str | int]] = [
                ("start_unix", start_ms),
                ("end_unix", end_ms),
                ("metric", metric),
                ("breakdown_type", "model"),
                ("aggregation_interval", "day"),
            ]
            body = self._get_stats(api_key, params)
            with buckets.guard(None, f"{STATS_PATH} ({metric})"):
                for day, model, value in _series(body):
                    if value:
                        totals.setdefault((day, model), {})[unit] = value
        for (day, model), values in totals.items():
            buckets.add(self._record(day, model, values))

    def _get_stats(self, api_key: str, params: list[tuple[str, str | int]]) -> Any:
        if not self._workspace:
            return self._get(api_key, STATS_PATH, params)
        try:
            return self._get(api_key, STATS_PATH, params + [("include_workspace_metrics", "true")])
        except (InvalidCredential, ProviderRejected) as exc:
            if isinstance(exc, InvalidCredential) and exc.status == 401:
                raise  # the key itself is wrong: asking again without the workspace cannot help
            # Workspace usage needs a workspace admin's key (403); read what this key may see
            # instead. A key refused here too raises from this second call.
            body = self._get(api_key, STATS_PATH, params)
            self._workspace = False
            return body

    def _record(self, day: date, model: str, values: Mapping[str, Decimal]) -> UsageRecord:
        counts = {unit: int(v.to_integral_value(ROUND_HALF_UP)) for unit, v in values.items()}
        characters = values.get(u.CHARACTERS)
        price = self._price(model, day) if characters else None
        warnings: list[str] = []
        if not self._workspace and self._want_workspace:
            warnings.append(WORKSPACE_USAGE_NOT_INCLUDED)
        if characters and price is not None:
            cost = characters * price
            item = LineItem(name=f"{model} characters", quantity=characters, unit=u.CHARACTERS, cost_usd=cost)
        else:
            # No per-character price, or credits with no characters to price (another product).
            cost = Decimal(0)
            quantity, unit = (characters, u.CHARACTERS) if characters else (values[u.CREDITS], u.CREDITS)
            item = LineItem(name=PRICE_UNKNOWN, quantity=quantity, unit=unit, cost_usd=cost)
            warnings.append(PRICE_UNKNOWN)
        return UsageRecord(
            self.platform,
            day,
            model,
            "api",
            cost_usd=cost,
            units=counts,
            line_items=(item,),
            estimated=True,
            warnings=tuple(warnings),
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
