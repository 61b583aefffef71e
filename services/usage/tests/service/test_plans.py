"""Plan limits in the usage service: history per plan (backfill span, how far back a sync and
the scheduler reach) and, on a downgrade, scheduled syncs of keys beyond the plan's limit paused
with a message on the key (the oldest keep syncing), resumed by an upgrade or a freed slot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from svccommon.errors import InvalidArgument, PermissionDenied
from svccommon.plans import FREE, PROFESSIONAL
from usage.accountplans import AccountPlans
from usage.engine import SyncEngine
from usage.limits import sync_range
from usage.planstore import PlanStore
from usage.scheduling import scheduled_range
from usage.syncs import SyncController

TODAY = dt.date(2026, 9, 30)
KEYS = [f"{i}" * 32 for i in range(1, 6)]


@pytest.fixture
def plans(harness: Any) -> AccountPlans:
    return AccountPlans(PlanStore(harness.db), harness.credentials, harness.clock)


@pytest.fixture
def syncs(harness: Any, plans: AccountPlans) -> SyncController:
    return SyncController(
        harness.runs, harness.records, harness.credentials, harness.clock, 3600, plans=plans
    )


def engine(harness: Any) -> SyncEngine:
    return SyncEngine(
        harness.runs, lambda owner, stop: harness.job(stop, owner), workers=1, interval_s=3600, stale_s=300,
        clock=harness.clock,
    )  # fmt: skip


def connect_keys(harness: Any, syncs: SyncController, n: int, plan: str) -> None:
    """n keys, one minute apart (so "oldest" is well defined), each with its first sync queued."""
    for key in KEYS[:n]:
        harness.connect("openai", key)
        syncs.start(harness.account, key, "", "", "backfill", plan=plan)
        harness.clock.advance(minutes=1)


def note(harness: Any, key: str) -> str:
    return harness.credentials.status[(harness.account, key)][1]


def test_history_follows_the_plan() -> None:
    assert sync_range("", "", "backfill", TODAY, FREE.history_days).days == 90
    assert sync_range("", "", "backfill", TODAY, PROFESSIONAL.history_days).days == 365
    assert sync_range("", "", "backfill", TODAY).days == 90  # no plan given: as before
    assert sync_range("", "", "manual", TODAY, FREE.history_days).days == 30
    with pytest.raises(InvalidArgument, match="at most 90 days"):
        sync_range((TODAY - dt.timedelta(days=90)).isoformat(), "", "manual", TODAY, 90)
    assert sync_range((TODAY - dt.timedelta(days=89)).isoformat(), "", "manual", TODAY, 90).days == 90
    # The scheduler never reads further back than the target's plan allows.
    target = {"synced_until": "2026-09-29", "retry_from": "2026-01-01", "history_days": 90}
    assert scheduled_range(target, TODAY)[0] == TODAY - dt.timedelta(days=89)
    assert scheduled_range({**target, "history_days": 365}, TODAY)[0] == dt.date(2026, 1, 1)


def test_backfill_covers_the_plans_history(harness: Any, syncs: SyncController) -> None:
    harness.connect("openai", KEYS[0])
    run = syncs.start(harness.account, KEYS[0], "", "", "backfill", plan="professional")
    assert run["days_total"] == 365
    harness.connect("openai", KEYS[1])
    run = syncs.start(harness.account, KEYS[1], "", "", "backfill", history_days=90)
    assert run["days_total"] == 90


def test_downgrade_pauses_the_newest_keys_and_upgrade_resumes_them(
    harness: Any, syncs: SyncController, plans: AccountPlans
) -> None:
    connect_keys(harness, syncs, 5, "professional")
    harness.runs.runs.delete_many({})  # only scheduled runs from here on
    applied = plans.set_plan(harness.account, "free")
    assert applied.active == KEYS[:3] and applied.paused == KEYS[3:]
    assert "Free plan syncs up to 3 provider keys" in note(harness, KEYS[4])
    assert "Upgrade to Professional" in note(harness, KEYS[3])
    assert note(harness, KEYS[0]) == ""
    assert plans.set_plan(harness.account, "free") == applied  # idempotent

    harness.clock.advance(hours=2)  # every target is due
    assert engine(harness).housekeeping_pass() == 3
    synced = {run["credential_id"] for run in harness.runs.runs.find({"reason": "scheduled"})}
    assert synced == set(KEYS[:3])
    with pytest.raises(PermissionDenied, match="paused"):
        syncs.start(harness.account, KEYS[4], "", "", "manual", plan="free")

    # A freed slot resumes the oldest paused key; the newest stays paused.
    syncs.forget(harness.account, KEYS[0], delete_records=False)
    assert note(harness, KEYS[3]) == "" and note(harness, KEYS[4]) != ""
    assert syncs.start(harness.account, KEYS[3], "", "", "manual", plan="free")["status"] == "queued"

    applied = plans.set_plan(harness.account, "professional")
    assert applied.paused == [] and note(harness, KEYS[4]) == ""
    harness.runs.runs.delete_many({})
    assert engine(harness).housekeeping_pass() == 1  # the resumed key is due at once, the rest later
    assert [r["credential_id"] for r in harness.runs.runs.find({"reason": "scheduled"})] == [KEYS[4]]


def test_an_invalid_key_keeps_its_own_message(
    harness: Any, syncs: SyncController, plans: AccountPlans
) -> None:
    connect_keys(harness, syncs, 4, "professional")
    harness.credentials.mark_invalid(harness.account, KEYS[3], "This key was revoked.")
    plans.set_plan(harness.account, "free")
    assert harness.credentials.status[(harness.account, KEYS[3])] == ("invalid", "This key was revoked.")


def test_unknown_plan_is_refused(plans: AccountPlans, harness: Any) -> None:
    with pytest.raises(InvalidArgument, match="unknown plan"):
        plans.set_plan(harness.account, "platinum")
