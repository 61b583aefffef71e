"""Fake OpenRouter ``/api/v1/activity`` (Management key).

As documented (https://openrouter.ai/docs/api/api-reference/analytics/get-user-activity): the
endpoint returns activity "for the last 30 (completed) UTC days"; the optional ``date`` filter is
"a single UTC date in the last 30 days (YYYY-MM-DD format)", and a bad request is a 400
("Invalid date format or date range"). So ``date`` = today (not completed), a day before the
window, or a malformed date is a 400; without ``date`` the whole window is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .base import FakeProviderServer


class FakeOpenRouter(FakeProviderServer):
    """Rows are activity items; missing documented fields get neutral defaults."""

    path_prefix = "/api/v1"
    default_key = "sk-or-v1-fake-management-0123456789"

    HISTORY_DAYS = 30

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self._items: list[dict[str, Any]] = []
        # "Today" for the window; tests with a fixed clock set it (tenants have their own).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def window(self) -> tuple[date, date]:
        """The first and last day the endpoint answers for: the last 30 completed UTC days."""
        today = self.clock().astimezone(UTC).date()
        return today - timedelta(days=self.HISTORY_DAYS), today - timedelta(days=1)

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
        first, last = self.window()
        wanted = query.get("date", [None])[0]
        if wanted is None:
            days = {(first + timedelta(days=i)).isoformat() for i in range(self.HISTORY_DAYS)}
            return 200, {"data": [r for r in self._items if str(r.get("date")) in days]}
        try:
            if len(wanted) != 10:
                raise ValueError
            day = date.fromisoformat(wanted)
        except ValueError:
            return 400, self.error_body(400, "Invalid date format or date range")
        if not first <= day <= last:
            return 400, self.error_body(400, "Invalid date format or date range")
        return 200, {"data": [r for r in self._items if str(r.get("date")) == wanted]}
