"""Figure: the dashboard's overview page (/) on the 73,000-record account of the summary figure
(365 days x 8 platforms x 25 models).

1. Server time of one overview load, issued as the page issues it: GET / (the HTML shell), then
   GET /v1/me (app.js, before any page draws), then the overview's API calls all at once (as
   js/pages/overview.js does) over at most 6 connections, a browser's limit per HTTP/1.1 origin.
   Assets are not in it: they are immutable and cached after the first visit. Signed in with the
   browser's session cookie (POST /web/session), as the page is. Baseline: the same calls one
   after another (what the page would cost without issuing them in parallel).
2. The first load's transfer: every byte a browser downloads for the overview with an empty cache
   (shell, every CSS file and JS module, the API answers), measured by loading the page once in
   Chromium (Playwright) and summing each response's header and body sizes. Without Playwright or
   Chromium, the same is counted from the shell's links and the modules' imports.

Issue floors: p50 <= 150 ms for the HTML and its data; first load <= 1 MB."""

from __future__ import annotations

import datetime as dt
import re
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import requests
from devstack.browser import CHROMIUM_ARGS, chromium_path

from bench import stats
from bench.fig_summary import Dataset
from bench.harness import Bench
from bench.report import Figure, check

BROWSER_CONNECTIONS = 6  # Chromium's connections per origin over HTTP/1.1
TOP_MODELS = 5
FRESH_DAYS = 7
RUNS = {"min_runs": 30, "max_runs": 200, "budget_s": 20.0}
FLOOR_P50_MS = 150.0
FLOOR_FIRST_LOAD_BYTES = 1_000_000


def overview_calls(today: dt.date) -> list[tuple[str, dict[str, str]]]:
    """The API calls js/pages/overview.js issues together for the default range (30 days)."""
    frm, to = (today - dt.timedelta(days=29)).isoformat(), today.isoformat()
    recent = (today - dt.timedelta(days=FRESH_DAYS - 1)).isoformat()
    return [
        ("/v1/usage/month-to-date", {}),
        ("/v1/credentials", {}),
        ("/v1/usage/summary", {"from": recent, "to": to, "group_by": "credential_id,day"}),
        ("/v1/platforms", {}),
        ("/v1/billing/plans", {}),
        ("/v1/usage/summary", {"from": frm, "to": to, "group_by": "day,platform"}),
        ("/v1/usage/summary", {"from": frm, "to": to, "group_by": "model", "top": str(TOP_MODELS)}),
        ("/v1/usage/forecast", {}),
        ("/v1/budgets", {}),
    ]


class Browserish:
    """A signed-in browser's connections: one keep-alive session per connection, same cookies."""

    def __init__(self, bench: Bench, dataset: Dataset) -> None:
        self.base = bench.base_url
        signin = requests.Session()
        response = signin.post(
            f"{self.base}/web/session",
            json={"email": dataset.account.email, "password": dataset.account.password},
            timeout=30,
        )
        check(response.status_code == 200, f"POST /web/session answered {response.status_code}")
        self.cookies = signin.cookies
        self.sessions = []
        for _ in range(BROWSER_CONNECTIONS):
            session = requests.Session()
            session.cookies.update(self.cookies)
            self.sessions.append(session)
        self.pool = ThreadPoolExecutor(max_workers=BROWSER_CONNECTIONS)
        self.calls = overview_calls(dataset.today)
        self.dataset = dataset

    def get(self, connection: int, path: str, params: dict[str, str] | None = None) -> requests.Response:
        response = self.sessions[connection].get(f"{self.base}{path}", params=params, timeout=60)
        status = response.status_code
        check(status == 200, f"GET {path} answered {status}: {response.text[:200]}")
        return response

    def _api(self, index: int) -> requests.Response:
        path, params = self.calls[index]
        return self.get(index % BROWSER_CONNECTIONS, path, params)

    def parallel(self) -> list[requests.Response]:
        """One overview load: shell, /v1/me, then the page's calls at once."""
        shell = self.get(0, "/")
        check(b'type="module"' in shell.content, "GET / is not the app shell")
        self.get(0, "/v1/me")
        return list(self.pool.map(self._api, range(len(self.calls))))

    def sequential(self) -> list[requests.Response]:
        self.get(0, "/")
        self.get(0, "/v1/me")
        return [self.get(0, path, params) for path, params in self.calls]

    def check_answers(self, answers: list[requests.Response]) -> None:
        today = self.dataset.today
        mtd = answers[0].json()
        want = self.dataset.expected_total(today.replace(day=1), today)
        check(Decimal(mtd["current"]["cost_usd"]) == want, "overview: month-to-date total")
        daily = answers[5].json()
        want = self.dataset.expected_total(today - dt.timedelta(days=29), today)
        check(Decimal(daily["total_cost_usd"]) == want, "overview: 30-day total")
        check(len(daily["groups"]) == 30 * 8, f"overview: {len(daily['groups'])} day x platform groups")
        models = answers[6].json()
        check(len(models["groups"]) == TOP_MODELS and models["others"] is not None, "overview: top models")
        forecast = answers[7].json()["total"]
        want = self.dataset.expected_total(today.replace(day=1), today)
        check(
            Decimal(forecast["actual_usd"]) == want.quantize(Decimal("0.01")), "overview: forecast's actual"
        )
        check(Decimal(forecast["projected_usd"]) >= Decimal(forecast["actual_usd"]), "overview: forecast")

    def close(self) -> None:
        self.pool.shutdown()
        for session in self.sessions:
            session.close()


def first_load_in_browser(bench: Bench, cookies: Any) -> dict[str, Any] | None:
    """Bytes a real browser transfers for the overview with an empty cache; None without one."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    executable = chromium_path()
    if executable is None:
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=bench.base_url, viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": c.name, "value": c.value, "url": bench.base_url} for c in cookies])
            page = context.new_page()
            finished: list[Any] = []
            page.on("requestfinished", lambda request: finished.append(request))
            started = time.perf_counter()
            page.goto("/", wait_until="networkidle")
            page.wait_for_selector("svg.chart-svg g.chart-day", timeout=60_000)
            shown_s = time.perf_counter() - started
            page.wait_for_load_state("networkidle")
            kinds: dict[str, int] = {}
            total = 0
            for request in finished:
                sizes = request.sizes()
                size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
                kind = "api" if "/v1/" in request.url or "/web/" in request.url else request.resource_type
                kinds[kind] = kinds.get(kind, 0) + size
                total += size
            context.close()
        finally:
            browser.close()
    return {
        "bytes": total,
        "requests": len(finished),
        "by_kind_bytes": kinds,
        "chart_drawn_after_ms": round(shown_s * 1000),
        "method": "Chromium (Playwright): response headers + bodies as transferred",
    }


_LINK = re.compile(r'(?:href|src)="(/assets/[^"]+)"')
_IMPORT = re.compile(r'(?:from\s+|import\()\s*"(\.{1,2}/[^"]+\.js)"')


def first_load_counted(browser: Browserish, answers: list[requests.Response]) -> dict[str, Any]:
    """The same total without a browser: the shell, the assets it links, the JS modules they import
    (js/app.js loads pages/overview.js), /v1/me and the overview's answers (bodies only)."""
    shell = browser.get(0, "/")
    seen: dict[str, int] = {}
    queue = _LINK.findall(shell.text)
    root = queue[0].split("/", 3)[:3]
    queue.append("/".join([*root, "js/pages/overview.js"]))
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        body = browser.get(0, path).content
        seen[path] = len(body)
        if path.endswith(".js"):
            base = path.rsplit("/", 1)[0]
            for relative in _IMPORT.findall(body.decode()):
                parts = base.split("/")
                for piece in relative.split("/"):
                    if piece == "..":
                        parts.pop()
                    elif piece != ".":
                        parts.append(piece)
                queue.append("/".join(parts))
    me = browser.get(0, "/v1/me")
    api = len(me.content) + sum(len(a.content) for a in answers)
    total = len(shell.content) + sum(seen.values()) + api
    return {
        "bytes": total,
        "requests": 2 + len(seen) + len(answers),
        "by_kind_bytes": {"document": len(shell.content), "assets": sum(seen.values()), "api": api},
        "method": "counted: shell + linked assets + imported modules + API bodies (no headers)",
    }


def run(bench: Bench) -> list[Figure]:
    today = dt.datetime.now(dt.UTC).date()
    dataset = Dataset(bench, "73k", today)
    dataset.request("365d_day")  # builds the account's day rollups, as any first read does
    browser = Browserish(bench, dataset)
    try:
        browser.check_answers(browser.parallel())
        for _ in range(3):  # warm: connections, the usage cache for these windows
            browser.parallel()
        per_call: dict[str, list[float]] = {}
        parallel_s, sequential_s = stats.paired(browser.parallel, browser.sequential, **RUNS)
        answers = browser.parallel()
        browser.check_answers(answers)
        for index, (path, params) in enumerate(browser.calls):
            name = f"{path}?group_by={params['group_by']}" if "group_by" in params else path
            per_call[name] = stats.repeat(lambda index=index: browser._api(index), runs=10, warmup=0)
        shell_s = stats.repeat(lambda: browser.get(0, "/"), runs=30)
        why_counted: dict[str, str] = {}
        try:
            load = first_load_in_browser(bench, browser.cookies)
        except Exception as exc:  # no usable browser here: count the same bytes from the sources
            load = None
            why_counted = {"browser_error": f"{type(exc).__name__}: {exc}"[:300]}
        if load is None:
            load = {**first_load_counted(browser, answers), **why_counted}
    finally:
        browser.close()

    p50 = stats.median(parallel_s) * 1000
    p95 = stats.percentile(parallel_s, 95) * 1000
    return [
        Figure(
            "web_overview_server_73k",
            p50,
            "ms (p50)",
            baseline=stats.median(sequential_s) * 1000,
            baseline_name="the overview's same calls one after another (no parallel requests)",
            p50_ms=p50,
            p99_ms=stats.percentile(parallel_s, 99) * 1000,
            samples=len(parallel_s),
            extra={
                "records_in_account": len(dataset.rows),
                "p95_ms": round(p95, 1),
                "requests_per_load": 2 + len(browser.calls),
                "connections": BROWSER_CONNECTIONS,
                "shell_p50_ms": round(stats.median(shell_s) * 1000, 2),
                "per_call_p50_ms": {k: round(stats.median(v) * 1000, 1) for k, v in per_call.items()},
                "floor_p50_ms": FLOOR_P50_MS,
                "within_floor": p50 <= FLOOR_P50_MS,
            },
        ),
        Figure(
            "web_overview_first_load_bytes",
            float(load["bytes"]),
            "bytes",
            samples=1,
            extra={
                **{k: v for k, v in load.items() if k != "bytes"},
                "floor_bytes": FLOOR_FIRST_LOAD_BYTES,
                "within_floor": load["bytes"] <= FLOOR_FIRST_LOAD_BYTES,
            },
        ),
    ]
