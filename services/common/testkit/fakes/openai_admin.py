"""Fake OpenAI organization Costs + Usage API (``/v1/organization/...``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from .base import FakeProviderServer, as_date, days_between, unix

USAGE_ENDPOINTS = (
    "completions",
    "embeddings",
    "moderations",
    "images",
    "audio_speeches",
    "audio_transcriptions",
    "vector_stores",
    "code_interpreter_sessions",
    "web_search_calls",
    "file_search_calls",
)
# The group_by values each endpoint accepts (openai/openai-openapi openapi.yaml): anything else
# is refused with 400, as the real API validates the enum.
_GROUP_BY = {
    "costs": {"project_id", "line_item", "api_key_id"},
    "vector_stores": {"project_id"},
    "code_interpreter_sessions": {"project_id"},
    "file_search_calls": {"project_id", "user_id", "api_key_id", "vector_store_id"},
    "web_search_calls": {"project_id", "user_id", "api_key_id", "model", "context_level"},
}
_MODEL_GROUP_BY = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier", "size", "source"}
# The object name of each endpoint's results, as the spec's examples show them.
_OBJECT = {"web_search_calls": "web_searches", "file_search_calls": "file_searches"}
_DAY = 86400


class FakeOpenAI(FakeProviderServer):
    """Rows are loaded per day; every day in the asked range gets a bucket.

    ``load_costs([{"date": "2026-09-01", "amount": "12.50", "line_item": "gpt-4o, input",
    "quantity": 1000, "quantity_unit": "tokens", "project_id": "proj_a"}])``; a row
    with a ``"result"`` key is served verbatim (for unknown shapes).

    ``utc_offset_hours``: the provider's days begin at local midnight in that offset (-8: buckets
    start at 08:00 UTC; +9: at 15:00 UTC the day before); rows are loaded by the provider's own
    date, and every bucket overlapping the asked range is served.
    """

    path_prefix = "/v1"
    default_key = "sk-admin-fake-0123456789"

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self._rows: dict[str, dict[date, list[Any]]] = defaultdict(lambda: defaultdict(list))
        # GET /organization/projects and /organization/projects/{id}/api_keys: id -> name, and
        # project id -> {key id -> name}. Tests rename them between syncs (ids stay).
        self.project_names: dict[str, str] = {}
        self.key_names: dict[str, dict[str, str]] = {}
        self.utc_offset_hours = 0

    def load_costs(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self._rows["costs"][as_date(row["date"])].append(row.get("result") or _cost_result(row))

    def load_usage(self, endpoint: str, rows: list[dict[str, Any]]) -> None:
        if endpoint not in USAGE_ENDPOINTS:
            raise ValueError(f"unknown usage endpoint {endpoint}")
        for row in rows:
            result = row.get("result") or {
                "object": f"organization.usage.{_OBJECT.get(endpoint, endpoint)}.result",
                "project_id": None,
                "user_id": None,
                "api_key_id": None,
                **{k: v for k, v in row.items() if k != "date"},
            }
            self._rows[endpoint][as_date(row["date"])].append(result)

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.api_key}"

    def error_body(self, status: int, message: str) -> Any:
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path == "/organization/projects" or (
            path.startswith("/organization/projects/") and path.endswith("/api_keys")
        ):
            return self._list(path, query)
        if path == "/organization/costs":
            stream = "costs"
        elif path.startswith("/organization/usage/") and path.rsplit("/", 1)[1] in USAGE_ENDPOINTS:
            stream = path.rsplit("/", 1)[1]
        else:
            return 404, self.error_body(404, f"unknown path {path}")
        allowed = _GROUP_BY.get(stream, _MODEL_GROUP_BY)
        bad = [g for g in query.get("group_by", []) if g not in allowed]
        if bad:
            return 400, self.error_body(400, f"invalid group_by {bad[0]!r} for {path}")
        start = int(query["start_time"][0])
        end = int(query.get("end_time", [str(start + 7 * _DAY)])[0])
        limit = int(query.get("limit", ["7"])[0])
        first = datetime.fromtimestamp(start, UTC).date()
        stop = datetime.fromtimestamp(end - 1, UTC).date()
        shift = -self.utc_offset_hours * 3600  # local midnight, in UTC seconds from the UTC one
        if shift:  # the provider's own days that overlap [start, end)
            around = days_between(
                date.fromordinal(first.toordinal() - 1), date.fromordinal(stop.toordinal() + 2)
            )
            days = [d for d in around if unix(d) + shift < end and unix(d) + shift + _DAY > start]
        else:
            days = days_between(first, date.fromordinal(stop.toordinal() + 1))
        buckets = [
            {
                "object": "bucket",
                "start_time": unix(day) + shift,
                "end_time": unix(day) + shift + _DAY,
                "results": list(self._rows[stream].get(day, [])),
            }
            for day in days
        ]
        chunk, cursor = self.page(buckets, limit, query.get("page", [None])[0])
        return 200, {"object": "page", "data": chunk, "has_more": cursor is not None, "next_page": cursor}

    def _list(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """The spec's list envelope: {object: "list", data, first_id, last_id, has_more}, paged
        by ``after`` (an object id) and ``limit`` (1..100, default 20)."""
        limit = int(query.get("limit", ["20"])[0])
        if not 1 <= limit <= 100:
            return 400, self.error_body(400, "limit must be between 1 and 100")
        if path == "/organization/projects":
            items = [
                {
                    "id": pid,
                    "object": "organization.project",
                    "name": name,
                    "created_at": 1711471533,
                    "archived_at": None,
                    "status": "active",
                }
                for pid, name in self.project_names.items()
            ]
        else:
            pid = path.split("/")[3]
            if pid not in self.project_names:
                return 404, self.error_body(404, f"no project {pid}")
            items = [
                {
                    "object": "organization.project.api_key",
                    "redacted_value": "sk-abc...def",
                    "name": name,
                    "created_at": 1711471533,
                    "last_used_at": 1711471534,
                    "id": kid,
                    "owner": {
                        "type": "user",
                        "user": {"object": "organization.project.user", "id": "user_1"},
                    },
                }
                for kid, name in self.key_names.get(pid, {}).items()
            ]
        after = query.get("after", [None])[0]
        ids = [i["id"] for i in items]
        start = ids.index(after) + 1 if after in ids else 0
        chunk = items[start : start + limit]
        return 200, {
            "object": "list",
            "data": chunk,
            "first_id": chunk[0]["id"] if chunk else None,
            "last_id": chunk[-1]["id"] if chunk else None,
            "has_more": start + limit < len(items),
        }


def _cost_result(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "organization.costs.result",
        "amount": {"value": row["amount"], "currency": row.get("currency", "usd")},
        "line_item": row.get("line_item"),
        "project_id": row.get("project_id"),
        "api_key_id": row.get("api_key_id"),
        "quantity": row.get("quantity"),
        "quantity_unit": row.get("quantity_unit"),
        # Real results carry these too; connectors must ignore unknown fields.
        "organization_id": "org-fake",
        "organization_name": "Fake Org",
    }
