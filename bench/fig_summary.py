"""Figure 1: the usage summary of a year of records (365 days x 8 platforms x 25 models = 73,000),
through the real gateway (HTTP -> JWT -> auth session check -> gRPC usage -> database) against the
same aggregation run directly with pymongo (RecordStore.summary) on the same database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import requests
from bson.decimal128 import Decimal128
from usage.recordstore import RecordFilter, RecordStore

from bench import stats
from bench.harness import Bench, new_account
from bench.report import Figure, check

DAYS, PLATFORMS, MODELS = 365, 8, 25
PLATFORM_IDS = ("openai", "anthropic", "google", "mistral", "cohere", "elevenlabs", "deepgram", "openrouter")
# Pairs of (gateway, direct) runs after a warm-up: as many as fit the budget, within these bounds.
# On the embedded database one pair takes 20-60 s, so it gets the minimum; MongoDB gets dozens.
RUNS = {
    "30d_platform_model": {"min_runs": 2, "max_runs": 30, "budget_s": 30.0},
    "365d_day": {"min_runs": 2, "max_runs": 20, "budget_s": 30.0},
}
# The gateway gives usage queries 60 s (QUERY_TIMEOUT_S in gateway/api/usage.py); figures say
# when p99 came near it, which only the embedded development database does.
QUERY_DEADLINE_MS = 60_000
STACK_ENV: dict[str, str] = {}
BATCH = 5000


def _cost(day_index: int, platform: int, model: int) -> Decimal:
    """A deterministic price with 6 decimals, so every total is exact and known in advance."""
    return Decimal((day_index * 7919 + platform * 104729 + model * 1299709) % 9_000_000 + 1000).scaleb(-6)


def seed(bench: Bench, account_id: str, today: dt.date) -> dict[int, Decimal]:
    """73,000 records in the usage record schema, bulk-inserted; returns the cost per day index
    (0 = today) so every query's expected total is known."""
    records = bench.mongo["aicosts_usage"]["usage_records"]
    now = dt.datetime.now(dt.UTC)
    per_day: dict[int, Decimal] = {}
    batch: list[dict] = []
    for d in range(DAYS):
        day = (today - dt.timedelta(days=d)).isoformat()
        for p, platform in enumerate(PLATFORM_IDS[:PLATFORMS]):
            for m in range(MODELS):
                cost = _cost(d, p, m)
                per_day[d] = per_day.get(d, Decimal(0)) + cost
                batch.append(_document(account_id, day, platform, f"{platform}-model-{m:02d}", cost, now))
                if len(batch) >= BATCH:
                    records.insert_many(batch, ordered=False)
                    batch = []
    if batch:
        records.insert_many(batch, ordered=False)
    return per_day


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


def run(bench: Bench) -> list[Figure]:
    account = new_account(bench, "summary")
    today = dt.datetime.now(dt.UTC).date()
    per_day = seed(bench, account.account_id, today)
    store = RecordStore(bench.mongo["aicosts_usage"])
    http = requests.Session()
    http.headers.update(account.headers)
    cases = {
        "30d_platform_model": (30, ["platform", "model"], 30 * PLATFORMS * MODELS, PLATFORMS * MODELS),
        "365d_day": (365, ["day"], DAYS * PLATFORMS * MODELS, DAYS),
    }
    figures = []
    for name, (days, group_by, want_records, want_groups) in cases.items():
        first = today - dt.timedelta(days=days - 1)
        want_total = sum((per_day[d] for d in range(days)), Decimal(0))
        params = {"from": first.isoformat(), "to": today.isoformat(), "group_by": ",".join(group_by)}

        def via_gateway(
            params=params, want_total=want_total, want_records=want_records, want_groups=want_groups
        ):
            response = http.get(f"{bench.base_url}/v1/usage/summary", params=params, timeout=120)
            check(
                response.status_code == 200, f"summary answered {response.status_code}: {response.text[:200]}"
            )
            body = response.json()
            check(
                Decimal(body["total_cost_usd"]) == want_total,
                f"total {body['total_cost_usd']} != {want_total}",
            )
            check(body["records"] == want_records, f"records {body['records']} != {want_records}")
            check(len(body["groups"]) == want_groups, f"{len(body['groups'])} groups, expected {want_groups}")

        flt = RecordFilter(account.account_id, first, today)

        def direct(
            flt=flt,
            group_by=group_by,
            want_total=want_total,
            want_records=want_records,
            want_groups=want_groups,
        ):
            groups = store.summary(flt, group_by)
            total = sum((g.cost_usd for g in groups), Decimal(0))
            check(total == want_total, f"direct total {total} != {want_total}")
            check(len(groups) == want_groups, f"direct: {len(groups)} groups, expected {want_groups}")
            check(sum(g.records for g in groups) == want_records, "direct: wrong record count")

        figures.append(_compare(f"summary_{name}", via_gateway, direct, RUNS[name]))
    return figures


def _compare(name: str, measured: Callable[[], None], baseline: Callable[[], None], runs: dict) -> Figure:
    gateway_s, direct_s = stats.paired(measured, baseline, **runs)
    p99_ms = stats.percentile(gateway_s, 99) * 1000
    return Figure(
        name,
        stats.median(gateway_s) * 1000,
        "ms (p50)",
        baseline=stats.median(direct_s) * 1000,
        baseline_name="the same aggregation with pymongo (RecordStore.summary), no gateway or gRPC",
        p50_ms=stats.median(gateway_s) * 1000,
        p99_ms=p99_ms,
        samples=len(gateway_s),
        extra={
            "baseline_p99_ms": round(stats.percentile(direct_s, 99) * 1000, 1),
            "records_in_account": DAYS * PLATFORMS * MODELS,
            "near_query_deadline": p99_ms > QUERY_DEADLINE_MS / 2,
        },
    )
