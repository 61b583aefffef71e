"""usage's reconciler on the real database with keyvault's and auth's feeds in memory: a new key
is backfilled exactly once whoever asks and however often (passes repeated, two reconcilers at
once, the gateway's fast path first, a crash before the cursor is saved); a deleted key is
forgotten once; a plan change pauses the keys beyond the plan; the cursor only moves forward,
past changes whose step is done."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from svccommon.errors import Unavailable
from svccommon.plans import FREE, PROFESSIONAL, effective_plan
from usage.accountplans import AccountPlans
from usage.changes import CredentialChange, PlanChange, Position
from usage.cursorstore import CursorStore
from usage.planstore import PlanStore
from usage.reconciler import Reconciler
from usage.runstore import backfill_run_id
from usage.syncs import SyncController

KEYS = [f"{i}" * 32 for i in range(1, 6)]


class MemoryFeed:
    """An owner's change feed: entries by (changed_at, id), read after a position."""

    def __init__(self) -> None:
        self.changes: list[Any] = []
        self.reads = 0

    def add(self, change: Any) -> None:
        self.changes = sorted([*self.changes, change], key=lambda c: c.position)

    def after(self, position: Position | None, limit: int) -> list[Any]:
        self.reads += 1
        return [c for c in self.changes if position is None or c.position > position][:limit]


class RecordingAudit:
    def __init__(self) -> None:
        self.actions: list[tuple[str, str]] = []

    def record(self, action: str, **fields: Any) -> None:
        self.actions.append((action, fields.get("target_id", "")))


class Setup:
    def __init__(self, harness: Any) -> None:
        self.harness = harness
        self.credential_feed, self.plan_feed = MemoryFeed(), MemoryFeed()
        self.plans = AccountPlans(PlanStore(harness.db), harness.credentials, harness.clock)
        self.audit = RecordingAudit()
        self.auth_plans: dict[str, str] = {}
        self.syncs = SyncController(
            harness.runs, harness.records, harness.credentials, harness.clock, 3600,
            audit=self.audit, plans=self.plans,
            plan_of=lambda account: effective_plan(self.auth_plans.get(account, FREE.id)),
        )  # fmt: skip
        self.cursors = CursorStore(harness.db, harness.clock)

    def reconciler(self, cursors: Any = None, page_size: int = 100) -> Reconciler:
        return Reconciler(
            self.credential_feed,
            self.plan_feed,
            cursors or self.cursors,
            self.syncs,
            self.plans,
            overlap=dt.timedelta(minutes=5),
            page_size=page_size,
        )

    def stored(self, key: str, deleted: bool = False) -> CredentialChange:
        if not deleted:
            self.harness.connect("openai", key)
        else:
            self.harness.credentials.keys.pop((self.harness.account, key), None)
        change = CredentialChange(key, self.harness.account, deleted, self.harness.clock())
        self.credential_feed.add(change)
        self.harness.clock.advance(seconds=1)
        return change

    def backfills(self, key: str) -> list[dict]:
        return list(self.harness.db["sync_runs"].find({"credential_id": key, "reason": "backfill"}))


@pytest.fixture
def setup(harness: Any) -> Setup:
    return Setup(harness)


def test_a_new_key_is_backfilled_once_however_often_the_reconciler_passes(setup: Setup) -> None:
    setup.stored(KEYS[0])
    reconciler = setup.reconciler()
    assert reconciler.reconcile_once() == 1
    reconciler.reconcile_once()  # the overlap re-reads the change: nothing more happens
    runs = setup.backfills(KEYS[0])
    assert [r["_id"] for r in runs] == [backfill_run_id(KEYS[0])]
    assert runs[0]["to_date"] == setup.harness.clock().date().isoformat()
    assert runs[0]["days_total"] == FREE.history_days
    # The gateway's fast path arriving late finds the same run.
    again = setup.syncs.start(setup.harness.account, KEYS[0], "", "", "backfill")
    assert again["_id"] == runs[0]["_id"] and len(setup.backfills(KEYS[0])) == 1


def test_the_fast_path_first_then_the_reconciler_makes_no_second_run(setup: Setup) -> None:
    setup.stored(KEYS[0])
    setup.auth_plans[setup.harness.account] = PROFESSIONAL.id
    first = setup.syncs.start(setup.harness.account, KEYS[0], "", "", "backfill")
    setup.harness.db["sync_runs"].update_one({"_id": first["_id"]}, {"$set": {"status": "succeeded"}})
    setup.reconciler().reconcile_once()
    assert [r["_id"] for r in setup.backfills(KEYS[0])] == [first["_id"]]


def test_two_reconcilers_at_once_start_one_backfill_per_key(setup: Setup) -> None:
    for key in KEYS[:3]:
        setup.stored(key)
    reconcilers = [setup.reconciler(CursorStore(setup.harness.db, setup.harness.clock)) for _ in range(2)]
    start = threading.Barrier(len(reconcilers))
    errors: list[BaseException] = []

    def run(reconciler: Reconciler) -> None:
        start.wait()
        try:
            for _ in range(3):
                reconciler.reconcile_once()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in reconcilers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert {key: len(setup.backfills(key)) for key in KEYS[:3]} == dict.fromkeys(KEYS[:3], 1)


def test_a_crash_before_the_cursor_is_saved_redoes_nothing_twice(setup: Setup) -> None:
    change = setup.stored(KEYS[0])

    class CrashOnSave:
        def load(self, name: str) -> Position | None:
            return setup.cursors.load(name)

        def save(self, name: str, position: Position) -> None:
            raise SystemExit("killed before the cursor was saved")

    with pytest.raises(SystemExit):
        setup.reconciler(CrashOnSave()).reconcile_once()
    assert len(setup.backfills(KEYS[0])) == 1 and setup.cursors.load("credentials") is None
    setup.reconciler().reconcile_once()  # the restarted process reads the change again
    assert len(setup.backfills(KEYS[0])) == 1
    assert setup.cursors.load("credentials") == change.position


def test_a_deleted_key_is_forgotten_once(setup: Setup) -> None:
    setup.stored(KEYS[0])
    reconciler = setup.reconciler()
    reconciler.reconcile_once()
    assert setup.harness.runs.targets.get(setup.harness.account, KEYS[0]) is not None
    setup.stored(KEYS[0], deleted=True)
    reconciler.reconcile_once()
    reconciler.reconcile_once()
    assert setup.harness.runs.targets.get(setup.harness.account, KEYS[0]) is None
    run = setup.backfills(KEYS[0])[0]
    assert run["status"] == "failed" and "deleted" in run["error"]  # cancelled while queued
    assert setup.audit.actions.count(("usage.credential_forgotten", KEYS[0])) == 1
    # The gateway's fast path after the reconciler (or before it) changes nothing more.
    assert setup.syncs.forget(setup.harness.account, KEYS[0], delete_records=False) == (0, 0)
    assert setup.audit.actions.count(("usage.credential_forgotten", KEYS[0])) == 1


def test_a_key_deleted_before_the_reconciler_saw_it_is_never_backfilled(setup: Setup) -> None:
    setup.stored(KEYS[0])
    setup.stored(KEYS[0], deleted=True)  # the feed holds the tombstone only, after the store
    setup.credential_feed.changes = setup.credential_feed.changes[1:]
    setup.reconciler().reconcile_once()
    assert setup.backfills(KEYS[0]) == []


def test_a_plan_change_pauses_the_keys_beyond_the_plan(setup: Setup) -> None:
    account = setup.harness.account
    setup.auth_plans[account] = PROFESSIONAL.id
    for key in KEYS[:4]:
        setup.stored(key)
        setup.harness.clock.advance(minutes=1)
    reconciler = setup.reconciler()
    reconciler.reconcile_once()
    assert PlanStore(setup.harness.db).plan_of(account) == PROFESSIONAL.id
    setup.auth_plans[account] = FREE.id
    setup.plan_feed.add(PlanChange(account, FREE.id, setup.harness.clock()))
    for _ in range(2):
        reconciler.reconcile_once()
        targets = {t["credential_id"]: t for t in PlanStore(setup.harness.db).targets.of_account(account)}
        assert PlanStore(setup.harness.db).plan_of(account) == FREE.id
        assert [k for k in KEYS[:4] if targets[k].get("paused")] == [KEYS[3]]
    assert setup.cursors.load("plans") is not None


def test_the_cursor_stays_before_a_change_whose_step_failed(setup: Setup) -> None:
    first, second = setup.stored(KEYS[0]), setup.stored(KEYS[1])
    reconciler = setup.reconciler(page_size=1)
    calls = {"n": 0}
    real_plan_of = setup.syncs.plan_of

    def flaky(account: str):  # noqa: ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise Unavailable("auth is away")
        return real_plan_of(account)

    setup.syncs.plan_of = flaky
    with pytest.raises(Unavailable):
        reconciler.reconcile_once()
    assert setup.cursors.load("credentials") == first.position  # page 1 done, page 2 not
    reconciler.reconcile_once()
    assert setup.cursors.load("credentials") == second.position
    assert [len(setup.backfills(k)) for k in KEYS[:2]] == [1, 1]
    # Re-reading never moves the cursor back.
    reconciler.reconcile_once()
    assert setup.cursors.load("credentials") == second.position


def test_a_failing_credential_feed_does_not_hold_up_plan_changes(setup: Setup) -> None:
    """keyvault away: the plan feed (which needs only auth) is still followed in the same pass."""
    account = setup.harness.account

    def keyvault_away(position: Position | None, limit: int) -> list[Any]:
        raise Unavailable("keyvault is away")

    setup.credential_feed.after = keyvault_away  # type: ignore[method-assign]
    setup.plan_feed.add(PlanChange(account, PROFESSIONAL.id, setup.harness.clock()))
    with pytest.raises(Unavailable):
        setup.reconciler().reconcile_once()
    assert PlanStore(setup.harness.db).plan_of(account) == PROFESSIONAL.id
    assert setup.cursors.load("plans") is not None and setup.cursors.load("credentials") is None
