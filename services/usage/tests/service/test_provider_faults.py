"""A bad provider, through the real connectors and the fakes' standing faults: one that hangs,
one that answers garbage, one that answers 500 to every call, one that rate-limits every call.
Each sync ends in a terminal state with a message the user can act on, earlier data stays, and a
hanging provider never holds every sync worker (other keys, other accounts keep syncing)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import SleepRecorder
from testkit.waiting import wait_until
from usage.connectors import Connector, HttpClient, connector_for
from usage.engine import SyncEngine
from usage.syncjob import SyncJob

from .test_sync_runs import load_openai, stored, total

CRED = "f" * 32
READ_TIMEOUT_S = 1.0
HOLD_S = 4.0  # the read deadline in the workers test: a hanging sync holds its worker 2 x 4 s


def connector(
    harness: Any, sleeps: SleepRecorder | None = None, read_timeout_s: float = READ_TIMEOUT_S
) -> Any:
    """Connectors as production builds them, with a short read deadline and 2 attempts."""

    def make(platform: str) -> Connector:
        http = HttpClient(max_attempts=2, sleep=sleeps or SleepRecorder(), timeout=(1.0, read_timeout_s))
        url = harness.fakes.by_platform[platform].url
        return connector_for(platform, http=http, base_url=url, clock=harness.clock)

    return make


def sync(harness: Any, sleeps: SleepRecorder | None = None, credential: str = CRED) -> dict:
    run = harness.syncs.start(harness.account, credential, "", "", "manual")
    claimed = harness.runs.claim(harness.owner, harness.clock())
    job = SyncJob(
        harness.runs,
        harness.records,
        harness.credentials,
        connector(harness, sleeps),
        harness.owner,
        harness.clock,
    )
    job.execute(claimed)
    return harness.runs.get(harness.account, run["_id"])


@pytest.fixture
def synced_once(harness: Any) -> Any:
    """An OpenAI key with one good sync behind it (4.00 on day -3); returns its fake tenant."""
    tenant = harness.connect("openai", CRED)
    load_openai(tenant, [(harness.day(3), "gpt-4o, input", "4.00")])
    assert sync(harness)["status"] == "succeeded"
    yield tenant
    tenant.heal()


def kept_intact(harness: Any, before: list) -> None:
    assert total(harness) == Decimal("4.00")
    assert stored(harness) == before


def test_a_hanging_provider_ends_the_sync_within_its_deadlines(harness: Any, synced_once: Any) -> None:
    before = stored(harness)
    synced_once.hang()
    started = time.monotonic()
    run = sync(harness)
    assert time.monotonic() - started < 2 * READ_TIMEOUT_S + 3  # 2 attempts, then it gives up
    assert run["status"] == "failed"
    assert run["error"] == (
        f"OpenAI is not answering (no answer within {READ_TIMEOUT_S:g} s after 2 attempts "
        f"({synced_once.url}/organization/costs)). Data already stored is kept; the next sync retries."
    )
    assert len(run["failed_days"]) == 30
    kept_intact(harness, before)
    assert harness.runs.targets.get(harness.account, CRED)["retry_from"] == harness.day(29).isoformat()


def test_garbage_is_never_stored_and_fails_each_day_clearly(harness: Any, synced_once: Any) -> None:
    before = stored(harness)
    synced_once.garbage()
    run = sync(harness)
    assert run["status"] == "failed"
    assert len(run["failed_days"]) == 30 and run["days"] == 0
    assert run["failed_days"][0]["error"] == (
        f"OpenAI answered in a shape we do not recognise (response from {synced_once.url}/organization/costs "
        "is not JSON); this day was not stored."
    )
    assert run["error"].startswith("30 of 30 days could not be read; see failed_days.")
    kept_intact(harness, before)


def test_500_on_every_call_ends_the_sync_and_keeps_the_data(harness: Any, synced_once: Any) -> None:
    before = stored(harness)
    synced_once.server_errors()
    run = sync(harness)
    assert run["status"] == "failed"
    assert run["error"] == (
        f"OpenAI is not answering (HTTP 500 after 2 attempts ({synced_once.url}/organization/costs)). "
        "Data already stored is kept; the next sync retries."
    )
    kept_intact(harness, before)


def test_a_rate_limit_on_every_call_says_so_and_waits_what_the_provider_asks(
    harness: Any, synced_once: Any
) -> None:
    before = stored(harness)
    synced_once.rate_limited(retry_after="7")
    sleeps = SleepRecorder()
    run = sync(harness, sleeps)
    assert run["status"] == "failed"
    assert run["error"] == (
        "OpenAI is limiting this key's requests (HTTP 429 after 2 attempts "
        f"({synced_once.url}/organization/costs)). "
        "Data already stored is kept; the next sync retries. Other tools that use this key or its "
        "organisation share the same rate limit."
    )
    assert sleeps.calls == [7.0]  # Retry-After honoured between the two attempts
    kept_intact(harness, before)


def test_a_hanging_provider_never_holds_every_worker(harness: Any) -> None:
    """Account A: two OpenAI keys whose provider hangs, queued first, and an Anthropic key;
    account B: an Anthropic key. With 2 workers, A's OpenAI keys take one worker at a time,
    so both Anthropic syncs finish while the first hanging sync is still waiting."""
    hanging = harness.connect("openai", "a1" * 16)
    harness.credentials.add(harness.account, "a2" * 16, "openai", hanging.api_key)
    hanging.hang()
    other = "acct0000000000000000000000000002"
    for account in (harness.account, other):
        tenant = harness.connect("anthropic", "c" * 32, account_id=account)
        tenant.load_costs([{"date": harness.day(2), "amount": "1.25", "model": "claude-sonnet-4"}])
    runs = [
        harness.syncs.start(account, cred, "", "", "manual")
        for account, cred in (
            (harness.account, "a1" * 16),
            (harness.account, "a2" * 16),
            (harness.account, "c" * 32),
            (other, "c" * 32),
        )
    ]
    engine = SyncEngine(
        harness.runs,
        lambda owner, stopping: SyncJob(
            harness.runs,
            harness.records,
            harness.credentials,
            connector(harness, read_timeout_s=HOLD_S),
            owner,
            harness.clock,
            stopping,
        ),
        workers=2,
        interval_s=0,
        stale_s=300,
        clock=harness.clock,
    )
    status = {}

    def statuses() -> list[str]:
        for run in runs:
            status[run["_id"]] = harness.runs.get(run["account_id"], run["_id"])["status"]
        return [status[run["_id"]] for run in runs]

    engine.start()
    try:
        wait_until(
            lambda: statuses()[2:] == ["succeeded", "succeeded"],
            timeout_s=2 * HOLD_S,
            what="both Anthropic syncs to finish beside the hanging one",
        )
        # Still within the first hanging sync's deadlines: nobody waited for it to give up.
        assert statuses()[:2] == ["running", "queued"]  # A's second OpenAI key waits for the first
        wait_until(
            lambda: statuses()[:2] == ["failed", "failed"], timeout_s=30, what="the hanging syncs to end"
        )
    finally:
        hanging.heal()
        engine.stop()
    for run in runs[:2]:
        assert "no answer within" in harness.runs.get(harness.account, run["_id"])["error"]
