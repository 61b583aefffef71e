"""Fake ElevenLabs ``GET /v1/usage/character-stats``, as the official SDK describes it.

Source: elevenlabs/elevenlabs-python, ``src/elevenlabs/usage/raw_client.py`` and the types
``MetricType``, ``BreakdownTypes``, ``UsageAggregationInterval`` and
``UsageCharactersResponseModel`` (``{"time": [ms...], "usage": {key: [values...]}}``).

- ``start_unix`` and ``end_unix`` (milliseconds) are required; a missing one or a value of the
  wrong type is a 422, like the API's validation errors. Enum parameters are checked the same way.
- ``metric`` picks the series: usage is loaded per metric (``credits``, ``tts_characters``...).
  The SDK does not document which metric applies when none is sent; this fake then answers
  ``credits``, so a client that forgets the parameter gets credits, not characters.
- ``include_workspace_metrics=true`` adds the other workspace members' usage. A key that is not
  a workspace admin is refused (403) when it asks for it: the docs say workspace usage needs
  admin rights but not how the refusal looks, so this is the fake's assumption.
- ``breakdown_type=user`` without workspace metrics is a 422 (the docs forbid it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .base import FakeProviderServer, as_date, days_between, unix

METRICS = frozenset(
    {
        "credits",
        "tts_characters",
        "minutes_used",
        "request_count",
        "ttfb_avg",
        "ttfb_p95",
        "fiat_units_spent",
        "concurrency",
        "concurrency_average",
    }
)
BREAKDOWNS = frozenset(
    {
        "none",
        "voice",
        "voice_multiplier",
        "user",
        "groups",
        "api_keys",
        "all_api_keys",
        "product_type",
        "model",
        "resource",
        "request_queue",
        "region",
        "subresource_id",
        "reporting_workspace_id",
        "has_api_key",
        "request_source",
    }
)
INTERVALS = frozenset({"hour", "day", "week", "month", "cumulative"})
DEFAULT_METRIC = "credits"  # undocumented; see the module docstring
OWNER = "key_owner"


class FakeElevenLabs(FakeProviderServer):
    """``load_usage([{"date": "2026-09-01", "model": "eleven_multilingual_v2",
    "tts_characters": 1200, "credits": 1200, "user": "someone_else"}])``.

    ``user`` defaults to the key's owner; other users' rows count only with workspace metrics.
    ``characters`` is accepted as a short name for ``tts_characters``.
    """

    path_prefix = "/v1"
    api_root = ""  # the SDK's base URL is the host, https://api.elevenlabs.io
    default_key = "sk_fake_elevenlabs_0123456789"

    def __init__(self, api_key: str | None = None, *, workspace_admin: bool = True) -> None:
        super().__init__(api_key)
        self.workspace_admin = workspace_admin
        # metric -> (user, model) -> day -> value
        self._usage: dict[str, dict[tuple[str, str], dict[date, Decimal | int]]] = defaultdict(
            lambda: defaultdict(dict)
        )

    def _new_tenant(self, api_key: str) -> FakeElevenLabs:
        return type(self)(api_key=api_key, workspace_admin=self.workspace_admin)

    def load_usage(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            day = as_date(row["date"])
            key = (row.get("user", OWNER), row["model"])
            for field, value in row.items():
                metric = "tts_characters" if field == "characters" else field
                if metric in METRICS:
                    per_day = self._usage[metric][key]
                    per_day[day] = per_day.get(day, 0) + value

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("xi-api-key") == self.api_key

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": {"status": "error" if status != 401 else "invalid_api_key", "message": message}}

    def _invalid(self, field: str, message: str) -> tuple[int, Any]:
        return 422, {"detail": [{"loc": ["query", field], "msg": message, "type": "value_error"}]}

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path != "/usage/character-stats":
            return 404, self.error_body(404, f"unknown path {path}")
        bounds: list[int] = []
        for field in ("start_unix", "end_unix"):
            raw = query.get(field, [""])[0]
            if not raw.lstrip("-").isdigit():
                return self._invalid(field, "field required (integer milliseconds)")
            bounds.append(int(raw))
        metric = query.get("metric", [DEFAULT_METRIC])[0]
        breakdown = query.get("breakdown_type", ["none"])[0]
        interval = query.get("aggregation_interval", ["day"])[0]
        workspace = query.get("include_workspace_metrics", ["false"])[0]
        for field, value, allowed in (
            ("metric", metric, METRICS),
            ("breakdown_type", breakdown, BREAKDOWNS),
            ("aggregation_interval", interval, INTERVALS),
            ("include_workspace_metrics", workspace, {"true", "false"}),
        ):
            if value not in allowed:
                return self._invalid(field, f"invalid value {value!r}")
        if breakdown not in ("none", "model"):
            raise ValueError(f"this fake serves breakdown_type none and model, not {breakdown}")
        if interval != "day":
            raise ValueError("this fake serves daily aggregation only")
        with_workspace = workspace == "true"
        if with_workspace and not self.workspace_admin:
            return 403, self.error_body(403, "workspace usage needs workspace admin permissions")
        first = datetime.fromtimestamp(bounds[0] // 1000, UTC).date()
        last = datetime.fromtimestamp(bounds[1] // 1000, UTC).date()
        days = days_between(first, date.fromordinal(last.toordinal() + 1))
        series: dict[str, list[Decimal | int]] = {}
        for (user, model), per_day in self._usage[metric].items():
            if user != OWNER and not with_workspace:
                continue
            name = model if breakdown == "model" else "All"
            values = series.setdefault(name, [0] * len(days))
            for i, day in enumerate(days):
                values[i] += per_day.get(day, 0)
        usage = {name: values for name, values in series.items() if any(values)}
        return 200, {"time": [unix(day) * 1000 for day in days], "usage": usage}
