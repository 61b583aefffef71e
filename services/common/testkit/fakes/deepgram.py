"""Fake Deepgram management API: projects, billing and usage breakdowns."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from .base import FakeProviderServer, as_date


class FakeDeepgram(FakeProviderServer):
    """``load_billing("proj-1", [{"date": ..., "line_item": "streaming::nova-3", "dollars": "1.23"}])``.

    Usage rows: ``{"date", "models": [...], "hours", "tts_characters", "requests", ...}``.
    A row with a ``"result"`` key is served verbatim.

    Dates follow the reference (developers.deepgram.com/reference/manage/usage/breakdown/get):
    ``start``/``end`` are YYYY-MM-DD (anything else is a 400), results are one row per day and
    grouping (``resolution`` one day), each labelled ``grouping.start = grouping.end = day`` as in
    the API definition's example. Whether ``end`` is inclusive is not documented, so the fake
    serves either reading: ``end_inclusive`` (default True) or exclusive.
    """

    path_prefix = "/v1"
    api_root = ""  # the SDK's base URL is the host, "https://api.deepgram.com"
    default_key = "0123456789abcdef0123456789abcdef01234567"

    def __init__(
        self,
        api_key: str | None = None,
        projects: tuple[str, ...] = ("project-1",),
        end_inclusive: bool = True,
    ) -> None:
        super().__init__(api_key)
        self.projects = list(projects)
        self.project_names: dict[str, str] = {}  # id -> name (default "Project <id>"); may change
        self.end_inclusive = end_inclusive
        self._rows: dict[tuple[str, str], list[tuple[date, Any]]] = defaultdict(list)

    def load_billing(self, project_id: str, rows: list[dict[str, Any]]) -> None:
        self._load(
            project_id,
            "billing",
            rows,
            lambda r: {
                "dollars": r["dollars"],
                "grouping": {
                    "start": r["date"],
                    "end": r["date"],
                    "accessor": None,
                    "deployment": None,
                    "line_item": r.get("line_item"),
                    "tags": None,
                },
            },
        )

    def load_usage(self, project_id: str, rows: list[dict[str, Any]]) -> None:
        self._load(
            project_id,
            "usage",
            rows,
            lambda r: {
                **{k: v for k, v in r.items() if k not in ("date", "models")},
                "grouping": {"start": r["date"], "end": r["date"], "models": r.get("models")},
            },
        )

    def _load(self, project_id: str, kind: str, rows: list[dict[str, Any]], make: Any) -> None:
        if project_id not in self.projects:
            self.projects.append(project_id)
        for row in rows:
            self._rows[(project_id, kind)].append((as_date(row["date"]), row.get("result") or make(row)))

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Token {self.api_key}"

    def error_body(self, status: int, message: str) -> Any:
        return {
            "err_code": "INVALID_AUTH" if status == 401 else "ERROR",
            "err_msg": message,
            "request_id": "fake-request",
        }

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path == "/projects":
            return 200, {
                "projects": [
                    {"project_id": p, "name": self.project_names.get(p, f"Project {p}")}
                    for p in self.projects
                ]
            }
        parts = path.strip("/").split("/")  # projects/{id}/{billing|usage}/breakdown
        if (
            len(parts) != 4
            or parts[0] != "projects"
            or parts[3] != "breakdown"
            or parts[1] not in self.projects
        ):
            return 404, self.error_body(404, f"unknown path {path}")
        start, end = _day(query, "start", date.min), _day(query, "end", date.max)
        if end < start:
            return 400, self.error_body(400, "end must not be before start")
        inside = (lambda d: start <= d <= end) if self.end_inclusive else (lambda d: start <= d < end)
        results = [r for day, r in self._rows[(parts[1], parts[2])] if inside(day)]
        return 200, {
            "start": query["start"][0],
            "end": query["end"][0],
            "resolution": {"units": "day", "amount": 1},
            "results": results,
        }


def _day(query: dict[str, list[str]], name: str, default: date) -> date:
    """A YYYY-MM-DD query value (optional: no limit); a malformed one is a 400 (ValueError)."""
    if name not in query:
        return default
    value = query[name][0]
    if len(value) != 10:
        raise ValueError(f"{name} must be YYYY-MM-DD")
    return date.fromisoformat(value)
