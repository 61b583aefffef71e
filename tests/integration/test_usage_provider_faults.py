"""A provider that hangs, through the whole stack: the key's sync ends failed within its deadlines
with a message naming the wait, while another account's key syncs at once beside it, and the
stack stays healthy. (Service-level tests cover garbage, 500s and rate limits:
services/usage/tests/service/test_provider_faults.py.)"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest
from support.accounts import new_account
from support.usage_api import add_credential, runs_of, wait_for_runs
from testkit.fakes import FAST_RETRY_ENV

pytestmark = pytest.mark.slow  # waits out a hanging provider's deadlines through the stack

TODAY = dt.datetime.now(dt.UTC).date()


def at(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def first_run_started(http: Any, stack: Any, account: Any, credential_id: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        runs = runs_of(http, stack, account, credential_id)
        if runs and runs[-1].get("started_at"):
            return runs[-1]
        assert time.monotonic() < deadline, f"the backfill did not start: {runs}"
        time.sleep(0.1)


TIMEOUT_S = float(FAST_RETRY_ENV["USAGE_PROVIDER_TIMEOUT_SECONDS"])
ATTEMPTS = int(FAST_RETRY_ENV["USAGE_PROVIDER_MAX_ATTEMPTS"])


def test_a_hanging_provider_fails_its_own_sync_clearly_and_delays_no_one_else(
    stack: Any, http: Any, provider_fakes: Any
) -> None:
    stuck, other = new_account(stack), new_account(stack)
    hanging = provider_fakes.openai.tenant()
    hanging.hang()
    healthy = provider_fakes.anthropic.tenant()
    healthy.load_costs([{"date": TODAY - dt.timedelta(days=2), "model": "claude-sonnet-4", "amount": "250"}])
    try:
        started = time.monotonic()
        stuck_key = add_credential(http, stack, stuck, "openai", hanging.api_key)  # its backfill hangs
        deadline = time.monotonic() + 30
        while not hanging.requests:  # the hanging sync is holding a worker now
            assert time.monotonic() < deadline, "the backfill never reached the provider"
            time.sleep(0.1)
        other_key = add_credential(http, stack, other, "anthropic", healthy.api_key)
        begun = first_run_started(http, stack, other, other_key["id"])
        # The other key got a worker at once (not after the hang's 2 x 8 s), beside the hanging sync.
        assert [r["status"] for r in runs_of(http, stack, stuck, stuck_key["id"])] == ["running"]
        assert at(begun["started_at"]) - at(begun["queued_at"]) <= dt.timedelta(seconds=5), begun
        [done] = wait_for_runs(http, stack, other, other_key["id"])
        assert done["status"] == "succeeded", done
        summary = http.get(f"{stack.base_url}/v1/usage/summary", headers=other.headers, timeout=30)
        assert Decimal(summary.json()["total_cost_usd"]) == Decimal("2.50")

        [run] = wait_for_runs(http, stack, stuck, stuck_key["id"], timeout_s=ATTEMPTS * TIMEOUT_S + 30)
        assert time.monotonic() - started < ATTEMPTS * TIMEOUT_S + 30
        assert at(begun["started_at"]) < at(run["finished_at"])  # it never queued behind the hang
        assert run["status"] == "failed"
        assert run["error"].startswith(
            f"OpenAI is not answering (no answer within {TIMEOUT_S:g} s after {ATTEMPTS} attempts ("
        )
        assert run["error"].endswith("Data already stored is kept; the next sync retries.")
        assert hanging.api_key not in str(run)
        assert http.get(f"{stack.base_url}/healthz", timeout=10).status_code == 200
    finally:
        hanging.heal()
