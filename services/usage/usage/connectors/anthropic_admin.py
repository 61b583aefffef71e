"""Anthropic Admin API: cost_report (money, in cents) + usage_report/messages (tokens).

Auth: an Admin key (``sk-ant-admin...``) in ``x-api-key`` plus ``anthropic-version``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from svccommon import units as u

from ..records import (
    PRIORITY_COST_NOT_REPORTED,
    UNATTRIBUTED_MODEL,
    LineItem,
    UsageRecord,
    cents_to_usd,
    to_count,
)
from .base import Connector, DayBuckets, UnexpectedShape, bucket_day, day_start

# Paths below the API root (https://api.anthropic.com, the Anthropic SDK's default base URL).
COST_PATH = "/v1/organizations/cost_report"
USAGE_PATH = "/v1/organizations/usage_report/messages"
WORKSPACES_PATH = "/v1/organizations/workspaces"
API_KEYS_PATH = "/v1/organizations/api_keys"
ANTHROPIC_VERSION = "2023-06-01"
# Priority Tier usage never appears in cost_report (docs/providers.md), so its
# records carry a warning instead of silently looking free.
PRIORITY_TIERS = frozenset({"priority", "priority_on_demand"})


def rfc3339_day(value: Any) -> date:
    if not isinstance(value, str):
        raise TypeError(f"expected an RFC 3339 string, got {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return bucket_day(parsed)


def _rfc3339(day: date) -> str:
    return day_start(day).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnthropicConnector(Connector):
    platform = "anthropic"
    default_base_url = "https://api.anthropic.com"
    invalid_key_message = (
        "This key is not an Anthropic Admin API key (it should start with sk-ant-admin). "
        "An organization admin can create one in the Claude Console under Settings > Admin keys: "
        "https://console.anthropic.com/settings/admin-keys"
    )
    window_days = 31  # cost_report and daily usage: at most 31 buckets per page

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        window: list[tuple[str, str | int]] = [
            ("starting_at", _rfc3339(buckets.first)),
            ("ending_at", _rfc3339(buckets.last + timedelta(days=1))),
            ("bucket_width", "1d"),
            ("limit", (buckets.last - buckets.first).days + 1),
        ]
        # Grouping by description is what fills model/token_type on cost rows.
        cost_params = window + [("group_by[]", "description"), ("group_by[]", "workspace_id")]
        self._read(api_key, COST_PATH, cost_params, buckets, cost=True)
        # cost_report groups by workspace only; the usage report also by API key (docs/providers.md).
        usage_params = window + [
            ("group_by[]", "model"),
            ("group_by[]", "service_tier"),
            ("group_by[]", "workspace_id"),
            ("group_by[]", "api_key_id"),
        ]
        self._read(api_key, USAGE_PATH, usage_params, buckets, cost=False)

    def _read(
        self, api_key: str, path: str, params: list[tuple[str, str | int]], buckets: DayBuckets, *, cost: bool
    ) -> None:
        parse = self._cost_record if cost else self._usage_record
        for page in self._paginate(api_key, path, params):
            for bucket in page["data"]:
                buckets.add_bucket(bucket, path, lambda b: rfc3339_day(b["starting_at"]), parse)

    def _cost_record(self, day: date, result: dict[str, Any]) -> UsageRecord:
        currency = str(result.get("currency") or "USD")
        if currency.upper() != "USD":
            raise UnexpectedShape(day, f"cost in {currency!r}, expected USD")
        usd = cents_to_usd(result["amount"])  # amount is a cents decimal string
        # Non-token costs (web search, code execution, sessions) have a null
        # model; they stay on the unattributed model rather than being spread.
        model = result.get("model") or UNATTRIBUTED_MODEL
        name = result.get("description") or result.get("cost_type") or "unspecified"
        unit = result.get("token_type") or result.get("cost_type") or ""
        # cost_report gives no quantity; units come from the usage report.
        item = LineItem(name=str(name), quantity=None, unit=str(unit), cost_usd=usd)
        return UsageRecord(
            self.platform,
            day,
            str(model),
            "api",
            cost_usd=usd,
            line_items=(item,),
            amount_original=usd,
            project_id=str(result.get("workspace_id") or ""),  # null: the default workspace
        )

    def _usage_record(self, day: date, result: dict[str, Any]) -> UsageRecord:
        # Anthropic's input counts are already split: uncached, cache reads, cache writes.
        units = {
            u.INPUT_UNCACHED_TOKENS: to_count(result["uncached_input_tokens"]),
            u.OUTPUT_TOKENS: to_count(result["output_tokens"]),
            u.CACHE_READ_TOKENS: to_count(result.get("cache_read_input_tokens") or 0),
        }
        creation = result.get("cache_creation") or {}
        writes_5m = to_count(creation.get("ephemeral_5m_input_tokens") or 0)
        writes_1h = to_count(creation.get("ephemeral_1h_input_tokens") or 0)
        units[u.CACHE_WRITE_TOKENS] = writes_5m + writes_1h
        tools = result.get("server_tool_use") or {}
        if tools.get("web_search_requests") is not None:
            units[u.WEB_SEARCH_CALLS] = to_count(tools["web_search_requests"])
        # Keep the two always-present counts; drop optional ones that are zero.
        units = {k: v for k, v in units.items() if v or k in (u.INPUT_UNCACHED_TOKENS, u.OUTPUT_TOKENS)}
        warnings: tuple[str, ...] = ()
        if result.get("service_tier") in PRIORITY_TIERS and any(units.values()):
            warnings = (PRIORITY_COST_NOT_REPORTED,)
        model = result.get("model") or UNATTRIBUTED_MODEL
        return UsageRecord(
            self.platform,
            day,
            str(model),
            "api",
            units=units,
            warnings=warnings,
            project_id=str(result.get("workspace_id") or ""),
            api_key_id=str(result.get("api_key_id") or ""),
        )

    def names(self, api_key: str) -> dict[str, dict[str, str]]:
        """Workspace names (archived too) and API key names (GET /v1/organizations/workspaces,
        /v1/organizations/api_keys)."""
        workspaces = self._list_all(
            api_key, WORKSPACES_PATH, [("limit", 100), ("include_archived", "true")], "after_id"
        )
        keys = self._list_all(api_key, API_KEYS_PATH, [("limit", 1000)], "after_id")
        return {
            "project": {w["id"]: str(w.get("name") or "") for w in workspaces},
            "api_key": {k["id"]: str(k.get("name") or "") for k in keys},
        }
