"""The product's core, through the gateway: a new account connects an OpenAI and an Anthropic
admin key (fake provider servers behind them), syncs, and sees exactly the money the providers
reported, per day, platform and model; a second sync changes nothing; the CSV has the same total."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

from support.accounts import new_account
from support.billing import upgrade
from support.usage_api import add_credential, runs_of, sync_and_wait, wait_for_runs

TODAY = dt.datetime.now(dt.UTC).date()


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


# (days ago, OpenAI cost line item, amount in USD)
OPENAI_COSTS = [
    (9, "gpt-4o-2024-08-06, input", "12.50"),
    (9, "gpt-4o-2024-08-06, output", Decimal("3.333333")),
    (9, "assistants api | file search", "0.10"),
    (5, "gpt-4o-2024-08-06, input", "0.01"),
    (5, "o3, output", "7.77"),
    (1, "o3, input", Decimal("0.000001")),
]
# (days ago, model, input tokens, output tokens, requests)
OPENAI_USAGE = [
    (9, "gpt-4o-2024-08-06", 5_000_000, 333_333, 42),
    (5, "o3", 10_000, 70_000, 3),
    (5, "gpt-4o-mini", 50, 5, 1),  # usage with no cost: a zero-cost record, not a lost one
    (1, "o3", 1, 0, 1),
]
# (days ago, model, amount in CENTS as Anthropic sends it, description)
ANTHROPIC_COSTS = [
    (9, "claude-opus-5", "123.78912", "Claude Opus 5 Usage - Input Tokens"),
    (9, "claude-opus-5", "50", "Claude Opus 5 Usage - Output Tokens"),
    (2, "claude-haiku-4-5", "0.3", "Claude Haiku 4.5 Usage - Input Tokens"),
    (2, None, "25", "Web search"),
]
ANTHROPIC_USAGE = [
    (9, "claude-opus-5", 1500, 500, 200),
    (2, "claude-haiku-4-5", 300, 20, 0),
]


def load_fakes(provider_fakes: Any) -> tuple[Any, Any, dict[tuple[str, str, str], Decimal]]:
    """Fresh tenants with the data above, and the totals a correct product must show."""
    openai = provider_fakes.openai.tenant()
    openai.load_costs(
        [
            {"date": day(n), "amount": amount, "line_item": item, "project_id": "proj_1"}
            for n, item, amount in OPENAI_COSTS
        ]
    )
    openai.load_usage(
        "completions",
        [
            {"date": day(n), "model": m, "input_tokens": i, "output_tokens": o, "num_model_requests": r}
            for n, m, i, o, r in OPENAI_USAGE
        ],
    )
    anthropic = provider_fakes.anthropic.tenant()
    anthropic.load_costs(
        [
            {
                "date": day(n),
                "model": m,
                "amount": cents,
                "description": d,
                "cost_type": "tokens" if m else "web_search",
            }
            for n, m, cents, d in ANTHROPIC_COSTS
        ]
    )
    anthropic.load_usage(
        [
            {
                "date": day(n),
                "model": m,
                "uncached_input_tokens": i,
                "output_tokens": o,
                "cache_read_input_tokens": c,
            }
            for n, m, i, o, c in ANTHROPIC_USAGE
        ]
    )
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for n, item, amount in OPENAI_COSTS:
        model = item.split(", ")[0] if ", " in item else "(other)"
        expected[(day(n).isoformat(), "openai", model)] += Decimal(str(amount))
    for n, model, *_ in OPENAI_USAGE:
        expected[(day(n).isoformat(), "openai", model)] += 0
    for n, model, cents, _ in ANTHROPIC_COSTS:
        expected[(day(n).isoformat(), "anthropic", model or "(other)")] += Decimal(cents) / 100
    return openai, anthropic, dict(expected)


def get(http: Any, stack: Any, account: Any, path: str, **params: Any) -> Any:
    response = http.get(f"{stack.base_url}{path}", params=params, headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def all_records(http: Any, stack: Any, account: Any, frm: str, to: str) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params = {"from": frm, "to": to, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = get(http, stack, account, "/v1/usage/records", **params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_connect_sync_and_see_exact_costs(
    stack: Any, http: Any, provider_fakes: Any, stripe_fake: Any
) -> None:
    account = new_account(stack)
    openai, anthropic, expected = load_fakes(provider_fakes)
    credentials = [
        add_credential(http, stack, account, "openai", openai.api_key),
        add_credential(http, stack, account, "anthropic", anthropic.api_key),
    ]
    # Adding a key starts its 90-day backfill; nothing else is needed to see the costs.
    for credential in credentials:
        wait_for_runs(http, stack, account, credential["id"])
        (backfill,) = runs_of(http, stack, account, credential["id"])
        assert backfill["reason"] == "backfill" and backfill["status"] == "succeeded", backfill
        assert backfill["days"] == backfill["days_total"] == 90 and backfill["error"] is None

    frm, to = day(29).isoformat(), TODAY.isoformat()
    summary = get(
        http, stack, account, "/v1/usage/summary", group_by="day,platform,model", **{"from": frm, "to": to}
    )
    body = summary.json()
    shown = {(g["day"], g["platform"], g["model"]): Decimal(g["cost_usd"]) for g in body["groups"]}
    assert shown == expected  # every group, to the last digit the providers sent
    total = sum(expected.values(), Decimal(0))
    assert Decimal(body["total_cost_usd"]) == total == Decimal("25.7042252")
    assert body["currency"] == "USD" and (body["from"], body["to"]) == (frm, to)
    # One meaning per unit name (svccommon.units): OpenAI's input (no cached tokens in this data)
    # and Anthropic's uncached input add up under input_uncached_tokens.
    assert body["units"]["input_uncached_tokens"] == 5_010_051 + 1800 and body["units"]["requests"] == 47
    assert "input_tokens" not in body["units"] and "cached_input_tokens" not in body["units"]
    summed: dict[str, int] = defaultdict(int)
    for group in body["groups"]:
        for name, count in group["units"].items():
            summed[name] += count
    assert summed == body["units"]
    assert [list(g)[:3] for g in body["groups"]][0] == ["day", "platform", "model"]
    print(f"\n[usage e2e] {len(shown)} groups, total ${body['total_cost_usd']}")

    records = all_records(http, stack, account, frm, to)
    # One record per (day, platform, model) and the provider's project/key: OpenAI's costs are in
    # project proj_1, its usage rows name no project, so they are records of their own.
    assert len(records) == body["records"]
    per_model: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for r in records:
        per_model[(r["date"], r["platform"], r["model"])] += Decimal(r["cost_usd"])
    assert per_model == expected
    assert {r["project"] for r in records if r["platform"] == "openai"} == {"proj_1", None}
    assert {r["source"] for r in records} == {"api"}
    assert [r for r in records if r["date"] == day(1).isoformat()][0]["provisional"] is True

    # A second sync of both keys changes nothing: no double counting, identical records.
    for credential in credentials:
        assert sync_and_wait(http, stack, account, credential["id"])["status"] == "succeeded"
    again = get(
        http, stack, account, "/v1/usage/summary", group_by="day,platform,model", **{"from": frm, "to": to}
    )
    assert again.json() == body
    strip = [{k: v for k, v in r.items() if k != "synced_at"} for r in records]
    assert [
        {k: v for k, v in r.items() if k != "synced_at"} for r in all_records(http, stack, account, frm, to)
    ] == strip

    upgrade(stack, stripe_fake, account)  # CSV export is part of the Professional plan
    export = get(http, stack, account, "/v1/usage/export", format="csv", **{"from": frm, "to": to})
    assert export.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.content.decode(), newline="")))
    assert len(rows) == len(records)
    assert sum(Decimal(r["cost_usd"]) for r in rows) == total

    listed = get(http, stack, account, "/v1/credentials").json()["items"]
    assert {c["status"] for c in listed} == {"active"} and all(c["last_sync_at"] for c in listed)
