"""Plan limits in the usage service, the plan asked of auth (here a stand-in for auth's answer, or
a real client of an auth that does not answer): history per plan (backfill span, how far back a
sync and the scheduler reach, a manual sync further back refused naming the plan that reaches
it), CSV export, and, on a downgrade, scheduled syncs of keys beyond the plan's limit paused with
a message on the key (the oldest keep syncing), resumed by an upgrade or a freed slot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2_grpc
from aicosts.usage.v1 import usage_pb2
from devstack.ports import free_ports
from svccommon.accountinfo import AccountInfo
from svccommon.channels import Backend
from svccommon.errors import InvalidArgument, PermissionDenied, PlanRequired, Unavailable
from svccommon.plans import FREE, PROFESSIONAL, Plan, get_plan
from usage.accountplans import AccountPlans
from usage.engine import SyncEngine
from usage.limits import sync_range
from usage.planstore import PlanStore
from usage.scheduling import scheduled_range
from usage.service import UsageServicer
from usage.syncs import SyncController

TODAY = dt.date(2026, 9, 30)
KEYS = [f"{i}" * 32 for i in range(1, 6)]


@pytest.fixture
def plans(harness: Any) -> AccountPlans:
    return AccountPlans(PlanStore(harness.db), harness.credentials, harness.clock)


class Auth:
    """Each account's plan as auth would answer it now (a test changes it, as Stripe would)."""

    def __init__(self) -> None:
        self.plans: dict[str, str] = {}

    def plan_of(self, account_id: str) -> Plan:
        return get_plan(self.plans.get(account_id, "free"))


@pytest.fixture
def auth() -> Auth:
    return Auth()


@pytest.fixture
def syncs(harness: Any, plans: AccountPlans, auth: Auth) -> SyncController:
    return SyncController(
        harness.runs, harness.records, harness.credentials, harness.clock, 3600, plans=plans,
        plan_of=auth.plan_of,
    )  # fmt: skip


def engine(harness: Any) -> SyncEngine:
    return SyncEngine(
        harness.runs, lambda owner, stop: harness.job(stop, owner), workers=1, interval_s=3600, stale_s=300,
        clock=harness.clock,
    )  # fmt: skip


def connect_keys(harness: Any, syncs: SyncController, n: int) -> None:
    """n keys, one minute apart (so "oldest" is well defined), each with its first sync queued."""
    for key in KEYS[:n]:
        harness.connect("openai", key)
        syncs.start(harness.account, key, "", "", "backfill")
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


def test_backfill_covers_the_plans_history(harness: Any, syncs: SyncController, auth: Auth) -> None:
    auth.plans[harness.account] = "professional"
    harness.connect("openai", KEYS[0])
    run = syncs.start(harness.account, KEYS[0], "", "", "backfill")
    assert run["days_total"] == 365
    assert PlanStore(harness.db).plan_of(harness.account) == "professional"  # remembered
    auth.plans[harness.account] = "free"
    harness.connect("openai", KEYS[1])
    run = syncs.start(harness.account, KEYS[1], "", "", "backfill")
    assert run["days_total"] == 90


def test_a_sync_further_back_than_the_plan_names_the_plan_that_reaches_it(
    harness: Any, syncs: SyncController, auth: Auth
) -> None:
    harness.connect("openai", KEYS[0])
    today = harness.clock().date()
    day_91 = (today - dt.timedelta(days=90)).isoformat()
    with pytest.raises(
        PlanRequired, match="^Syncing more than 90 days back is part of the Professional plan"
    ):
        syncs.start(harness.account, KEYS[0], day_91, "", "manual")
    assert harness.runs.runs.count_documents({}) == 0
    day_90 = (today - dt.timedelta(days=89)).isoformat()
    assert syncs.start(harness.account, KEYS[0], day_90, "", "manual")["days_total"] == 90
    with pytest.raises(InvalidArgument, match="at most 365 days"):  # no plan reaches it: no upgrade helps
        syncs.start(harness.account, KEYS[0], (today - dt.timedelta(days=400)).isoformat(), "", "manual")
    auth.plans[harness.account] = "professional"
    assert syncs.start(harness.account, KEYS[0], day_91, "", "manual")["days_total"] == 91


def test_auth_down_uses_the_plan_last_heard_of(harness: Any, plans: AccountPlans, auth: Auth) -> None:
    (nobody_listens,) = free_ports(1)
    channel = grpc.insecure_channel(f"127.0.0.1:{nobody_listens}")
    down = AccountInfo(Backend(channel, auth_pb2_grpc.AuthServiceStub, 1.0), PlanStore(harness.db).plan_of)
    syncs = SyncController(
        harness.runs, harness.records, harness.credentials, harness.clock, 3600, plans=plans,
        plan_of=down.plan_of,
    )  # fmt: skip
    harness.connect("openai", KEYS[0])
    with pytest.raises(Unavailable):  # never heard of: no guess
        syncs.start(harness.account, KEYS[0], "", "", "backfill")
    plans.record(harness.account, "professional")  # as a plan change reported it
    assert syncs.start(harness.account, KEYS[0], "", "", "backfill")["days_total"] == 365
    down.close()


def test_csv_export_needs_a_plan_with_it(harness: Any, auth: Auth) -> None:
    servicer = UsageServicer(None, harness.syncs, harness.queries, harness.importer, plan_of=auth.plan_of)
    request = usage_pb2.ExportRecordsRequest(account_id=harness.account)
    with pytest.raises(PlanRequired, match="^CSV export is part of the Professional plan") as refused:
        next(servicer.ExportRecords(request, None))
    assert dict(refused.value.metadata)["x-required-plan"] == "professional"
    auth.plans[harness.account] = "professional"
    assert next(servicer.ExportRecords(request, None)).chunk.startswith(b"date,")


def test_downgrade_pauses_the_newest_keys_and_upgrade_resumes_them(
    harness: Any, syncs: SyncController, plans: AccountPlans, auth: Auth
) -> None:
    auth.plans[harness.account] = "professional"
    connect_keys(harness, syncs, 5)
    harness.runs.runs.delete_many({})  # only scheduled runs from here on
    auth.plans[harness.account] = "free"
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
    with pytest.raises(PlanRequired, match="paused") as refused:
        syncs.start(harness.account, KEYS[4], "", "", "manual")
    assert isinstance(refused.value, PermissionDenied)
    assert dict(refused.value.metadata)["x-plan"] == "free"

    # A freed slot resumes the oldest paused key; the newest stays paused.
    syncs.forget(harness.account, KEYS[0], delete_records=False)
    assert note(harness, KEYS[3]) == "" and note(harness, KEYS[4]) != ""
    assert syncs.start(harness.account, KEYS[3], "", "", "manual")["status"] == "queued"

    auth.plans[harness.account] = "professional"
    applied = plans.set_plan(harness.account, "professional")
    assert applied.paused == [] and note(harness, KEYS[4]) == ""
    harness.runs.runs.delete_many({})
    assert engine(harness).housekeeping_pass() == 1  # the resumed key is due at once, the rest later
    assert [r["credential_id"] for r in harness.runs.runs.find({"reason": "scheduled"})] == [KEYS[4]]


def test_an_invalid_key_keeps_its_own_message(
    harness: Any, syncs: SyncController, plans: AccountPlans, auth: Auth
) -> None:
    auth.plans[harness.account] = "professional"
    connect_keys(harness, syncs, 4)
    harness.credentials.mark_invalid(harness.account, KEYS[3], "This key was revoked.")
    plans.set_plan(harness.account, "free")
    assert harness.credentials.status[(harness.account, KEYS[3])] == ("invalid", "This key was revoked.")


def test_unknown_plan_is_refused(plans: AccountPlans, harness: Any) -> None:
    with pytest.raises(InvalidArgument, match="unknown plan"):
        plans.set_plan(harness.account, "platinum")
