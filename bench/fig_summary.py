"""Figure 1: the dashboard's summary shapes through the real gateway (HTTP -> JWT -> auth session
check -> gRPC usage -> day rollups) for a year of records in one account: 73,000 records (365 days
x 8 platforms x 25 models) and ten times that (730,000 records, 2,000 series).

Baselines in the same run: the same group-by in plain Python over the records already in memory
(the practical floor), and, for 73,000 records, the direct aggregation the usage service ran
before day rollups (one run per shape: it takes seconds). Then the whole stack is restarted: the
first summary after it is timed (the usage cache starts cold) and every shape must answer the
same bytes as before the restart."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import requests
from bson.decimal128 import Decimal128
from usage.recordstore import RecordStore

from bench import stats, summary_baselines
from bench.harness import Account, Bench, login, new_account
from bench.report import Figure, check
from bench.summary_baselines import Row

DAYS = 365
PLATFORM_IDS = ("openai", "anthropic", "google", "mistral", "cohere", "elevenlabs", "deepgram", "openrouter")
SIZES = {"73k": 25, "730k": 250}  # models per platform
# (first day back, group_by); month_to_date has its own endpoint.
SHAPES: dict[str, tuple[int, list[str]]] = {
    "365d_day": (365, ["day"]),
    "30d_platform_model": (30, ["platform", "model"]),
    "90d_day_platform": (90, ["day", "platform"]),
    "month_to_date": (0, []),
}
RUNS = {
    "73k": {"min_runs": 20, "max_runs": 300, "budget_s": 12.0},
    "730k": {"min_runs": 5, "max_runs": 50, "budget_s": 15.0},
}
QUERY_TIMEOUT_S = 120
STACK_ENV: dict[str, str] = {}
BATCH = 5000


def _cost(day_index: int, platform: int, model: int) -> Decimal:
    """A deterministic price with 6 decimals, so every total is exact and known in advance."""
    return Decimal((day_index * 7919 + platform * 104729 + model * 1299709) % 9_000_000 + 1000).scaleb(-6)


def seed(bench: Bench, account_id: str, today: dt.date, models: int) -> tuple[dict[str, Decimal], list[Row]]:
    """Records in the usage record schema, bulk-inserted (as an account stored before day rollups
    existed); returns the cost per day and the same records as in-memory rows."""
    records = bench.mongo["aicosts_usage"]["usage_records"]
    now = dt.datetime.now(dt.UTC)
    per_day: dict[str, Decimal] = {}
    rows: list[Row] = []
    batch: list[dict] = []
    for d in range(DAYS):
        day = (today - dt.timedelta(days=d)).isoformat()
        for p, platform in enumerate(PLATFORM_IDS):
            for m in range(models):
                cost = _cost(d, p, m)
                per_day[day] = per_day.get(day, Decimal(0)) + cost
                doc = _document(account_id, day, platform, f"{platform}-model-{m:03d}", cost, now)
                rows.append(Row(day, platform, doc["model"], cost, tuple(doc["units"].items())))
                batch.append(doc)
                if len(batch) >= BATCH:
                    records.insert_many(batch, ordered=False)
                    batch = []
    if batch:
        records.insert_many(batch, ordered=False)
    return per_day, rows


def _document(account_id: str, day: str, platform: str, model: str, cost: Decimal, now: dt.datetime) -> dict:
    """The shape RecordStore writes for a synced record (recordstore._document)."""
    half = (cost / 2).quantize(Decimal("0.0000001"))
    tokens_in, tokens_out = int(cost * 1_000_000), int(cost * 250_000)
    return {
        "account_id": account_id,
        "date": day,
        "platform": platform,
        "model": model,
        "source": "api",
        "credential_id": f"cred-{platform}",
        "upload_id": "",
        "cost_usd": Decimal128(cost),
        "currency_original": "USD",
        "amount_original": Decimal128(cost),
        "units": {"input_tokens": tokens_in, "output_tokens": tokens_out, "requests": 10},
        "line_items": [
            {
                "name": f"{model}, input",
                "quantity": tokens_in,
                "unit": "tokens",
                "cost_usd": Decimal128(half),
            },
            {
                "name": f"{model}, output",
                "quantity": tokens_out,
                "unit": "tokens",
                "cost_usd": Decimal128(cost - half),
            },
        ],
        "provisional": False,
        "estimated": False,
        "warnings": [],
        "synced_at": now,
        "sync_run_id": "bench-seed",
    }


class Dataset:
    """One seeded account and what every shape must answer for it."""

    def __init__(self, bench: Bench, size: str, today: dt.date) -> None:
        self.bench, self.size, self.today = bench, size, today
        self.models = SIZES[size]
        self.account: Account = new_account(bench, f"summary{size}")
        self.per_day, self.rows = seed(bench, self.account.account_id, today, self.models)
        self.http = requests.Session()
        self.http.headers.update(self.account.headers)

    def relogin(self) -> None:
        self.account = login(self.bench, self.account)
        self.http.headers.update(self.account.headers)

    def window(self, shape: str) -> tuple[dt.date, dt.date]:
        back, _ = SHAPES[shape]
        if shape == "month_to_date":
            return self.today.replace(day=1), self.today
        return self.today - dt.timedelta(days=back - 1), self.today

    def expected_total(self, first: dt.date, last: dt.date) -> Decimal:
        return sum(
            (c for d, c in self.per_day.items() if first.isoformat() <= d <= last.isoformat()), Decimal(0)
        )

    def request(self, shape: str) -> bytes:
        """One gateway answer for the shape, checked against the seeded totals; its raw bytes."""
        first, last = self.window(shape)
        if shape == "month_to_date":
            response = self.http.get(
                f"{self.bench.base_url}/v1/usage/month-to-date",
                params={"to": last.isoformat()},
                timeout=QUERY_TIMEOUT_S,
            )
        else:
            params = {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "group_by": ",".join(SHAPES[shape][1]),
            }
            response = self.http.get(
                f"{self.bench.base_url}/v1/usage/summary", params=params, timeout=QUERY_TIMEOUT_S
            )
        check(response.status_code == 200, f"{shape} answered {response.status_code}: {response.text[:200]}")
        body = response.json()
        if shape == "month_to_date":
            check(
                Decimal(body["current"]["cost_usd"]) == self.expected_total(first, last),
                "month to date total",
            )
            previous_first = dt.date.fromisoformat(body["previous"]["from"])
            previous_last = dt.date.fromisoformat(body["previous"]["to"])
            check(
                Decimal(body["previous"]["cost_usd"]) == self.expected_total(previous_first, previous_last),
                "previous period total",
            )
        else:
            want_total = self.expected_total(first, last)
            check(
                Decimal(body["total_cost_usd"]) == want_total,
                f"{shape}: {body['total_cost_usd']} != {want_total}",
            )
            check(len(body["groups"]) == self.groups(shape), f"{shape}: {len(body['groups'])} groups")
        return response.content

    def groups(self, shape: str) -> int:
        back, group_by = SHAPES[shape]
        count = 1
        for name in group_by:
            count *= {"day": back, "platform": len(PLATFORM_IDS), "model": self.models}[name]
        return count

    def in_memory(self, shape: str) -> None:
        first, last = self.window(shape)
        if shape == "month_to_date":
            summary_baselines.in_memory(self.rows, first, last, [])
            previous_last = first - dt.timedelta(days=1)
            summary_baselines.in_memory(self.rows, previous_last.replace(day=1), previous_last, [])
            return
        groups = summary_baselines.in_memory(self.rows, first, last, SHAPES[shape][1])
        check(
            summary_baselines.total_of(groups) == self.expected_total(first, last), "in-memory baseline total"
        )

    def aggregation(self, shape: str) -> None:
        first, last = self.window(shape)
        records = self.bench.mongo["aicosts_usage"]["usage_records"]
        group_by = SHAPES[shape][1]
        groups = summary_baselines.direct_aggregation(records, self.account.account_id, first, last, group_by)
        check(summary_baselines.total_of(groups) == self.expected_total(first, last), "aggregation total")


def run(bench: Bench) -> list[Figure]:
    today = dt.datetime.now(dt.UTC).date()
    figures: list[Figure] = []
    small = Dataset(bench, "73k", today)
    build_s = stats.time_call(lambda: small.request("365d_day"))  # builds the account's rollups
    before = {}
    for shape in SHAPES:
        aggregation_s = stats.time_call(lambda shape=shape: small.aggregation(shape))
        figures.append(
            _figure(
                small,
                shape,
                {"first_read_builds_rollups_ms": round(build_s * 1000), "aggregation_ms": aggregation_s},
            )
        )
        before[shape] = small.request(shape)

    large = Dataset(bench, "730k", today)
    store = RecordStore(bench.mongo["aicosts_usage"])
    large_build_s = stats.time_call(lambda: store.rollups.rebuild_account(large.account.account_id))
    for shape in SHAPES:
        figures.append(_figure(large, shape, {"rollup_build_ms": round(large_build_s * 1000)}))

    restarted = _restart(bench)
    for dataset in (small, large):
        dataset.relogin()
    first_s = stats.time_call(lambda: small.request("365d_day"))
    first_large_s = stats.time_call(lambda: large.request("365d_day"))
    after = {shape: small.request(shape) for shape in SHAPES}
    changed = [shape for shape in SHAPES if after[shape] != before[shape]]
    check(not changed, f"answers changed across a restart: {changed}")
    warm_s = stats.repeat(lambda: small.request("365d_day"), runs=10)
    figures.append(
        Figure(
            "summary_first_after_restart_73k",
            first_s * 1000,
            "ms",
            baseline=stats.median(warm_s) * 1000,
            baseline_name="the same summary once the usage cache is warm",
            samples=1,
            extra={
                "shape": "365d_day",
                "stack_restart_s": round(restarted, 1),
                "first_after_restart_730k_ms": round(first_large_s * 1000),
                "byte_identical_after_restart": True,
            },
        )
    )
    return figures


def _figure(dataset: Dataset, shape: str, extra: dict[str, Any]) -> Figure:
    gateway_s, memory_s = stats.paired(
        lambda: dataset.request(shape), lambda: dataset.in_memory(shape), **RUNS[dataset.size]
    )
    p50 = stats.median(gateway_s) * 1000
    if "aggregation_ms" in extra:
        aggregation_ms = extra["aggregation_ms"] * 1000
        extra = {
            **extra,
            "aggregation_ms": round(aggregation_ms),
            "ratio_vs_aggregation": round(p50 / aggregation_ms, 4),
        }
    return Figure(
        f"summary_{shape}_{dataset.size}",
        p50,
        "ms (p50)",
        baseline=stats.median(memory_s) * 1000,
        baseline_name="the same group-by in plain Python over the records already in memory",
        p50_ms=p50,
        p99_ms=stats.percentile(gateway_s, 99) * 1000,
        samples=len(gateway_s),
        extra={"records_in_account": len(dataset.rows), **extra},
    )


def _restart(bench: Bench) -> float:
    """Stop every process of the stack (Ctrl-C, as a terminal would) and start it again on the
    same state folder and ports; returns the seconds until /readyz answered 200."""
    started = time.monotonic()
    bench.stack.stop()
    bench.stack.start()
    bench.stack.wait_ready()
    return time.monotonic() - started
