"""Fake OpenRouter ``/api/v1/activity`` (Management key, one day per request)."""

from __future__ import annotations

from typing import Any

from .base import FakeProviderServer


class FakeOpenRouter(FakeProviderServer):
    """Rows are activity items; missing documented fields get neutral defaults."""

    path_prefix = "/api/v1"
    default_key = "sk-or-v1-fake-management-0123456789"

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self._items: list[dict[str, Any]] = []

    def load_activity(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self._items.append(
                {
                    "model_permaslug": row.get("model"),
                    "endpoint_id": "ep-fake",
                    "provider_name": "FakeAI",
                    "usage": 0,
                    "byok_usage_inference": 0,
                    "requests": 0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "reasoning_tokens": 0,
                    **row,
                }
            )

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.api_key}"

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": status, "message": message}}

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path != "/activity":
            return 404, self.error_body(404, f"unknown path {path}")
        wanted = query.get("date", [None])[0]
        rows = [r for r in self._items if wanted is None or str(r.get("date")) == wanted]
        return 200, {"data": rows}
