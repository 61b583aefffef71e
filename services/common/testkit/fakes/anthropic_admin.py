"""Fake Anthropic Admin API: ``/v1/organizations/cost_report`` and ``usage_report/messages``."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .base import FakeProviderServer, as_date, days_between

_STREAMS = {"/cost_report": "cost", "/usage_report/messages": "usage"}
# The group_by[] values each report accepts (docs.anthropic.com, Usage and Cost API reference):
# anything else is a 400, as the real API validates the enum.
_GROUP_BY = {
    "cost": {"workspace_id", "description"},
    "usage": {"api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo"},
}


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _parse(value: str) -> date:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).date()


class FakeAnthropic(FakeProviderServer):
    """``load_costs([{"date": ..., "amount": "123.45" (cents), "model": ..., "description": ...}])``.

    Usage rows hold the documented result fields (``uncached_input_tokens``,
    ``cache_creation``...). A row with a ``"result"`` key is served verbatim.
    """

    path_prefix = "/v1/organizations"
    api_root = ""  # the SDK's base URL is the host, "https://api.anthropic.com"
    default_key = "sk-ant-admin01-fake-0123456789"
    version = "2023-06-01"

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self._rows: dict[str, dict[date, list[Any]]] = defaultdict(lambda: defaultdict(list))
        # GET /v1/organizations/workspaces and /api_keys: id -> name (tests rename them).
        self.workspace_names: dict[str, str] = {}
        self.key_names: dict[str, str] = {}

    def load_costs(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            result = row.get("result") or {
                "currency": "USD",
                "cost_type": "tokens",
                "description": None,
                "model": None,
                "token_type": None,
                "service_tier": None,
                "context_window": None,
                "inference_geo": None,
                "workspace_id": None,
                **{k: v for k, v in row.items() if k != "date"},
            }
            self._rows["cost"][as_date(row["date"])].append(result)

    def load_usage(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            result = row.get("result") or {
                "api_key_id": None,
                "workspace_id": None,
                "model": None,
                "service_tier": None,
                "context_window": None,
                "inference_geo": None,
                "uncached_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
                "output_tokens": 0,
                "server_tool_use": {"web_search_requests": 0},
                **{k: v for k, v in row.items() if k != "date"},
            }
            self._rows["usage"][as_date(row["date"])].append(result)

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("x-api-key") == self.api_key and headers.get("anthropic-version") == self.version

    def error_body(self, status: int, message: str) -> Any:
        kind = {401: "authentication_error", 429: "rate_limit_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path in ("/workspaces", "/api_keys"):
            return self._list(path, query)
        stream = _STREAMS.get(path)
        if stream is None:
            return 404, self.error_body(404, f"unknown path {path}")
        bad = [g for g in query.get("group_by[]", []) if g not in _GROUP_BY[stream]]
        if bad:
            return 400, self.error_body(400, f"group_by: invalid value {bad[0]!r}")
        first = _parse(query["starting_at"][0])
        end = _parse(query["ending_at"][0]) if "ending_at" in query else first + timedelta(days=7)
        limit = int(query.get("limit", ["7"])[0])
        buckets = [
            {
                "starting_at": _rfc3339(day),
                "ending_at": _rfc3339(day + timedelta(days=1)),
                "results": list(self._rows[stream].get(day, [])),
            }
            for day in days_between(first, end)
        ]
        chunk, cursor = self.page(buckets, limit, query.get("page", [None])[0])
        return 200, {"data": chunk, "has_more": cursor is not None, "next_page": cursor}

    def _list(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """The documented list envelope {data, has_more, first_id, last_id}, paged by ``after_id``
        and ``limit`` (1..1000, default 20)."""
        limit = int(query.get("limit", ["20"])[0])
        if not 1 <= limit <= 1000:
            return 400, self.error_body(400, "limit must be between 1 and 1000")
        if path == "/workspaces":
            items = [
                {
                    "id": wid,
                    "type": "workspace",
                    "name": name,
                    "created_at": "2024-10-30T23:58:27.427722Z",
                    "archived_at": None,
                    "display_color": "#6C5BB9",
                }
                for wid, name in self.workspace_names.items()
            ]
        else:
            items = [
                {
                    "id": kid,
                    "type": "api_key",
                    "name": name,
                    "workspace_id": None,
                    "created_at": "2024-10-30T23:58:27.427722Z",
                    "created_by": {"id": "user_01", "type": "user"},
                    "partial_key_hint": "sk-ant-api03-R2D...igAA",
                    "status": "active",
                }
                for kid, name in self.key_names.items()
            ]
        after = query.get("after_id", [None])[0]
        ids = [i["id"] for i in items]
        start = ids.index(after) + 1 if after in ids else 0
        chunk = items[start : start + limit]
        return 200, {
            "data": chunk,
            "has_more": start + limit < len(items),
            "first_id": chunk[0]["id"] if chunk else None,
            "last_id": chunk[-1]["id"] if chunk else None,
        }
