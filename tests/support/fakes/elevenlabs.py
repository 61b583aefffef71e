"""Fake ElevenLabs ``/v1/usage/character-stats`` (breakdown by model, daily)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .base import FakeProviderServer, as_date, days_between, unix


class FakeElevenLabs(FakeProviderServer):
    """``load_usage([{"date": "2026-09-01", "model": "eleven_multilingual_v2", "characters": 1200}])``."""

    path_prefix = "/v1"
    default_key = "sk_fake_elevenlabs_0123456789"

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self._chars: dict[str, dict[date, Decimal | int]] = defaultdict(dict)

    def load_usage(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            per_day = self._chars[row["model"]]
            day = as_date(row["date"])
            per_day[day] = per_day.get(day, 0) + row["characters"]

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("xi-api-key") == self.api_key

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": {"status": "error" if status != 401 else "invalid_api_key", "message": message}}

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path != "/usage/character-stats":
            return 404, self.error_body(404, f"unknown path {path}")
        first = datetime.fromtimestamp(int(query["start_unix"][0]) // 1000, UTC).date()
        last = datetime.fromtimestamp(int(query["end_unix"][0]) // 1000, UTC).date()
        days = days_between(first, date.fromordinal(last.toordinal() + 1))
        usage = {
            model: [per_day.get(day, 0) for day in days]
            for model, per_day in self._chars.items()
            if any(per_day.get(day) for day in days)
        }
        return 200, {"time": [unix(day) * 1000 for day in days], "usage": usage}
