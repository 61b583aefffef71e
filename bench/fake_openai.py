"""A minimal local stand-in for OpenAI's organization Costs and Usage APIs (docs/providers.md):
an organisation with MODELS models, every day of any range asked. Costs come per line item
("<model>, input" / "<model>, output"); completions usage per model; the other usage endpoints
answer empty buckets. Pages hold at most PAGE_DAYS daily buckets (the API's default page of 7),
so a 31-day window takes five pages per endpoint, with has_more/next_page as the API sends them.

The load figure's keys (LOAD_KEY_PREFIX + anything) are organisations of their own with
LOAD_MODELS models each, and the fake holds each of them to a per-key rate limit
(bench.fake_limits: 429 with Retry-After), counting what it saw.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bench.fake_limits import KeyRateLimiter

MODELS = 50
PAGE_DAYS = 7
API_KEY = "sk-admin-bench-0123456789abcdef"
LOAD_KEY_PREFIX = "sk-admin-load-"
LOAD_MODELS = 2
LOAD_LIMIT_PER_S = 5  # per key; OpenAI's admin APIs limit per organisation, each load key is one
_DAY = 86400


def model_name(m: int) -> str:
    return f"gpt-bench-{m:02d}"


def line_costs(day: date, m: int) -> tuple[Decimal, Decimal]:
    """(input, output) dollars of a model on a day: exact 6-decimal values."""
    base = (day.toordinal() * 7919 + m * 104729) % 5_000_000 + 1000
    return Decimal(base).scaleb(-6), Decimal(base * 3 % 7_000_000 + 500).scaleb(-6)


def expected_total(first: date, last: date, models: int = MODELS) -> Decimal:
    total = Decimal(0)
    day = first
    while day <= last:
        total += sum((sum(line_costs(day, m), Decimal(0)) for m in range(models)), Decimal(0))
        day += timedelta(days=1)
    return total


def _cost_results(day: date, models: int) -> list[dict]:
    results = []
    for m in range(models):
        for kind, value in zip(("input", "output"), line_costs(day, m), strict=True):
            results.append(
                {
                    "object": "organization.costs.result",
                    # float() of a short decimal prints the same digits back: an exact JSON number.
                    "amount": {"value": float(value), "currency": "usd"},
                    "line_item": f"{model_name(m)}, {kind}",
                    "project_id": "proj_bench",
                    "api_key_id": None,
                    "quantity": int(value * 1_000_000),
                    "quantity_unit": "tokens",
                    "organization_id": "org-bench",
                    "organization_name": "Bench Org",
                }
            )
    return results


def _completion_results(day: date, models: int) -> list[dict]:
    return [
        {
            "object": "organization.usage.completions.result",
            "input_tokens": 1000 + m,
            "output_tokens": 250 + m,
            "input_cached_tokens": 100,
            "num_model_requests": 10,
            "project_id": "proj_bench",  # the same project as the costs, as grouped by project_id
            "user_id": None,
            "api_key_id": None,
            "model": model_name(m),
            "batch": None,
            "service_tier": None,
        }
        for m in range(models)
    ]


def page(path: str, query: dict[str, list[str]], models: int = MODELS) -> tuple[int, dict]:
    if path == "/v1/organization/costs":
        results = _cost_results
    elif path == "/v1/organization/usage/completions":
        results = _completion_results
    elif path.startswith("/v1/organization/usage/"):
        results = lambda day, models: []  # noqa: E731 (an organisation using chat models only)
    else:
        return 404, {"error": {"message": f"unknown path {path}", "type": "invalid_request_error"}}
    start = int(query["start_time"][0])
    end = int(query.get("end_time", [str(start + 7 * _DAY)])[0])
    limit = min(int(query.get("limit", ["7"])[0]), PAGE_DAYS)
    offset = int(query.get("page", ["0"])[0].removeprefix("page_") or 0)
    starts = list(range(start + offset * _DAY, end, _DAY))[:limit]
    buckets = []
    for bucket_start in starts:
        day = datetime.fromtimestamp(bucket_start, UTC).date()
        buckets.append(
            {
                "object": "bucket",
                "start_time": bucket_start,
                "end_time": bucket_start + _DAY,
                "results": results(day, models),
            }
        )
    more = start + (offset + len(starts)) * _DAY < end
    cursor = f"page_{offset + len(starts)}" if more else None
    return 200, {"object": "page", "data": buckets, "has_more": more, "next_page": cursor}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if key.startswith(LOAD_KEY_PREFIX):
            wait = self.server.limiter.admit(key, time.time())  # type: ignore[attr-defined]
            if wait is not None:
                self._answer(429, {"error": {"message": "Rate limit reached", "type": "rate_limit"}}, wait)
                return
            self._answer(*page(parts.path, parse_qs(parts.query), LOAD_MODELS))
            return
        if key != API_KEY:
            status, body = (
                401,
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
            )
        else:
            status, body = page(parts.path, parse_qs(parts.query))
        self._answer(status, body)

    def _answer(self, status: int, body: dict, retry_after: float | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", str(int(retry_after)))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass  # quiet: one line per page would drown the figures


class FakeOpenAI:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.limiter = KeyRateLimiter(LOAD_LIMIT_PER_S)
        self.server.limiter = self.limiter  # type: ignore[attr-defined]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
