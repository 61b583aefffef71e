"""Spend data for the dashboard's browser tests: OpenAI and Anthropic fakes holding costs on
several days (one model name is markup), both keys connected and synced; and the page's money
format, to compare what a page shows with what the API answers."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from support.usage_api import add_credential, wait_for_runs

TODAY = dt.datetime.now(dt.UTC).date()
XSS_MODEL = "<img src=x onerror=window.__xss=1>"


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def usd(value: str | Decimal) -> str:
    """The page's money format: $1,234.57 (half away from zero)."""
    cents = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'-' if cents < 0 else ''}${abs(cents):,.2f}"


# The fakes' bills: (days ago, OpenAI line item, dollars) and (days ago, Anthropic model, cents).
OPENAI_COSTS = [
    (0, "gpt-4o-2024-08-06, input", "3.21"),
    (1, "gpt-4o-2024-08-06, input", "12.50"),
    (1, "gpt-4o-2024-08-06, output", "4.333333"),
    (3, "o3, output", "27.77"),
    (6, "gpt-4o-mini, input", "0.42"),
    (12, f"{XSS_MODEL}, input", "1.05"),
    (25, "o3, input", "150.00"),
    (40, "gpt-4o-2024-08-06, input", "61.10"),
]
ANTHROPIC_COSTS = [
    (0, "claude-haiku-4-5", "88.5"),
    (2, "claude-opus-5", "1978.912"),
    (6, "claude-opus-5", "5000"),
    (25, "claude-haiku-4-5", "1234"),
]


def bill_total(days: int) -> Decimal:
    """What the two fakes bill for the last `days` UTC days, today included, computed from the
    data above (not from anything AICosts stored)."""
    openai = sum((Decimal(a) for n, _, a in OPENAI_COSTS if n < days), Decimal(0))
    anthropic = sum((Decimal(c) for n, _, c in ANTHROPIC_COSTS if n < days), Decimal(0)) / 100
    return openai + anthropic


def load_bills(provider_fakes: Any) -> tuple[Any, Any]:
    """Fresh OpenAI and Anthropic tenants on the fakes holding the bills above (and some usage);
    connect their `api_key`s to read them."""
    openai = provider_fakes.openai.tenant()
    openai.load_costs(
        [
            {"date": TODAY - dt.timedelta(days=n), "amount": amount, "line_item": item, "project_id": "p1"}
            for n, item, amount in OPENAI_COSTS
        ]
    )
    openai.project_names = {"p1": "Search"}  # GET /organization/projects (the provider's name of p1)
    openai.load_usage(
        "completions",
        [
            {
                "date": TODAY - dt.timedelta(days=1),
                "model": "gpt-4o-2024-08-06",
                "input_tokens": 5_000_000,
                "output_tokens": 333_333,
                "num_model_requests": 42,
                "input_cached_tokens": 1_200_000,
            }
        ],
    )
    anthropic = provider_fakes.anthropic.tenant()
    anthropic.load_costs(
        [
            {
                "date": TODAY - dt.timedelta(days=n),
                "model": model,
                "amount": cents,
                "description": "Usage",
                "cost_type": "tokens",
            }
            for n, model, cents in ANTHROPIC_COSTS
        ]
    )
    anthropic.load_usage(
        [
            {
                "date": TODAY - dt.timedelta(days=2),
                "model": "claude-opus-5",
                "uncached_input_tokens": 90_000,
                "output_tokens": 12_000,
                "cache_read_input_tokens": 40_000,
            }
        ]
    )
    return openai, anthropic


def connect_with_data(stack: Any, http: Any, provider_fakes: Any, account: Any) -> None:
    """OpenAI and Anthropic keys whose fake providers hold the bills above, both synced."""
    for platform, tenant in zip(("openai", "anthropic"), load_bills(provider_fakes), strict=True):
        credential = add_credential(http, stack, account, platform, tenant.api_key)
        wait_for_runs(http, stack, account, credential["id"])


def api(http: Any, stack: Any, account: Any, path: str, **params: Any) -> dict[str, Any]:
    response = http.get(f"{stack.base_url}{path}", params=params, headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()
