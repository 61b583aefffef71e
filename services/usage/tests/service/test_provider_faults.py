"""A bad provider, through the real connectors and the fakes' standing faults: one that hangs,
one that answers garbage, one that answers 500 to every call (once, and for an hour of scheduled
syncs), one that rate-limits every call. Each sync ends in a terminal state with a message the
user can act on, earlier data stays, a hanging provider never holds every sync worker (other
keys, other accounts keep syncing), and the days an outage cost arrive soon after it ends."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest
from testkit.fakes import SleepRecorder
from testkit.waiting import wait_until
from usage.connectors import Connector, HttpClient, connector_for
from usage.engine import SyncEngine
from usage.syncjob import SyncJob

from .conftest import Clock
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


def sync_engine(
    harness: Any,
    connectors: Any,
    workers: int,
    interval_s: int,
    retry_after_failure: dt.timedelta | None = None,
) -> SyncEngine:
    """The engine as production builds it, on the harness's stores, clock and the given connectors."""
    return SyncEngine(
        harness.runs,
        lambda owner, stopping: SyncJob(
            harness.runs,
            harness.records,
            harness.credentials,
            connectors,
            owner,
            harness.clock,
            stopping,
            retry_after_failure=retry_after_failure,
        ),
        workers=workers,
        interval_s=interval_s,
        stale_s=300,
        clock=harness.clock,
    )


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
    engine = sync_engine(harness, connector(harness, read_timeout_s=HOLD_S), workers=2, interval_s=0)
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


INTERVAL_S = 6 * 3600
FIRST_RETRY = dt.timedelta(minutes=15)


def scheduler(harness: Any, sleeps: SleepRecorder) -> Any:
    """The engine's housekeeping (which queues due keys) and its job, with production's schedule."""
    engine = sync_engine(
        harness, connector(harness, sleeps), workers=1, interval_s=INTERVAL_S, retry_after_failure=FIRST_RETRY
    )

    def tick(at: dt.datetime) -> list[dict]:
        """The scheduler's pass at `at`, then every run it queued, to the end."""
        harness.clock.now = at
        engine.housekeeping_pass()
        finished = []
        while (claimed := harness.runs.claim(engine.owner, at)) is not None:
            engine.job.execute(claimed)
            finished.append(harness.runs.get(claimed["account_id"], claimed["_id"]))
        return finished

    return tick


def test_500_for_an_hour_over_midnight_and_month_end_then_every_missed_day_arrives(
    harness: Any, synced_once: Any
) -> None:
    """OpenAI answers 500 from 23:40 on 30 September to 00:40 on 1 October. The key's scheduled
    syncs fail clearly and come again after 15, then 30, then 60 minutes, not every few minutes;
    another account's key keeps its own schedule; the first sync after the outage stores both
    days it cost, to the cent, and the key goes back to the regular interval."""
    clock: Clock = harness.clock
    at = lambda h, m, day=30, month=9: dt.datetime(2026, month, day, h, m, tzinfo=dt.UTC)  # noqa: E731
    before = stored(harness)
    other = "acct0000000000000000000000000002"
    anthropic = harness.connect("anthropic", "c" * 32, account_id=other)
    anthropic.load_costs([{"date": harness.day(1), "amount": "1.25", "model": "claude-sonnet-4"}])
    harness.runs.targets.register(other, "c" * 32, "anthropic", at(23, 45), clock())
    harness.runs.targets.update(harness.account, CRED, {"next_sync_at": at(23, 45)})
    tick = scheduler(harness, SleepRecorder())

    clock.now = at(23, 40)
    synced_once.server_errors()
    # Billed meanwhile (the provider has them; its API does not answer):
    load_openai(synced_once, [(dt.date(2026, 9, 30), "gpt-4o, input", "2.50")])
    load_openai(synced_once, [(dt.date(2026, 10, 1), "gpt-4o-mini, input", "0.333333")])

    def next_sync_at() -> dt.datetime:
        return harness.runs.targets.get(harness.account, CRED)["next_sync_at"]

    first = tick(at(23, 45))
    assert [(r["credential_id"], r["status"]) for r in first] == [(CRED, "failed"), ("c" * 32, "succeeded")]
    assert first[0]["error"] == (
        f"OpenAI is not answering (HTTP 500 after 2 attempts ({synced_once.url}/organization/costs)). "
        "Data already stored is kept; the next sync retries."
    )
    assert next_sync_at() == at(0, 0, day=1, month=10)  # 15 minutes, not the 6-hour interval
    assert tick(at(23, 55)) == []  # nothing in between: a failing provider is not called every pass
    [second] = tick(at(0, 0, day=1, month=10))
    assert (second["status"], second["to_date"]) == ("failed", "2026-10-01")
    assert second["from_date"] <= first[0]["from_date"]  # the failed days are asked again
    assert next_sync_at() == at(0, 30, day=1, month=10)  # then 30 minutes
    assert tick(at(0, 20, day=1, month=10)) == []
    [third] = tick(at(0, 30, day=1, month=10))
    assert third["status"] == "failed"
    assert next_sync_at() == at(1, 30, day=1, month=10)  # then an hour
    assert harness.runs.targets.get(harness.account, CRED)["failures_in_a_row"] == 3
    # An hour of 500s erased nothing.
    assert total(harness) == Decimal("4.00")
    assert [r for r in stored(harness) if r["account_id"] == harness.account] == before

    clock.now = at(0, 40, day=1, month=10)
    synced_once.heal()
    assert tick(at(1, 0, day=1, month=10)) == []
    [recovered] = tick(at(1, 30, day=1, month=10))
    assert recovered["status"] == "succeeded", recovered
    assert total(harness) == Decimal("4.00") + Decimal("2.50") + Decimal("0.333333")
    days = sorted({r["date"] for r in stored(harness) if r["account_id"] == harness.account})
    assert days[-2:] == ["2026-09-30", "2026-10-01"]
    target = harness.runs.targets.get(harness.account, CRED)
    assert (target["failures_in_a_row"], target["retry_from"]) == (0, None)
    assert next_sync_at() == at(7, 30, day=1, month=10)  # the regular interval again
    # The other account kept its 6-hour schedule throughout.
    other_target = harness.runs.targets.get(other, "c" * 32)
    assert other_target["next_sync_at"] == at(5, 45, day=1, month=10)
    assert other_target["failures_in_a_row"] == 0
