"""Starting, forgetting and reading sync runs (the domain side of the sync RPCs)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from svccommon import context, cursors
from svccommon.audit import AuditLog
from svccommon.errors import FailedPrecondition, InvalidArgument, NotFound, PlanRequired, Unavailable
from svccommon.plans import Plan, cheapest_plan

from usage import limits, plangates
from usage.accountplans import AccountPlans
from usage.clients.keyvault_credentials import CredentialGone, Credentials, KeyvaultUnavailable
from usage.connectors import CONNECTORS
from usage.recordstore import RecordStore
from usage.runstore import RunStore
from usage.syncjob import platform_name

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
FORGOTTEN = "The credential was deleted before this sync started."


def check_id(value: str, name: str) -> str:
    if not _ID.fullmatch(value or ""):
        raise InvalidArgument(f"{name} is missing or malformed")
    return value


class SyncController:
    def __init__(
        self,
        runs: RunStore,
        records: RecordStore,
        credentials: Credentials,
        clock: Callable[[], dt.datetime],
        interval_s: int,
        wake: Callable[[], None] = lambda: None,
        audit: AuditLog | None = None,
        plans: AccountPlans | None = None,
        plan_of: Callable[[str], Plan] | None = None,
    ) -> None:
        self.plan_of = plan_of  # the account's plan from auth (None: no plan limits, tools and tests)
        self.runs = runs
        self.records = records
        self.credentials = credentials
        self.clock = clock
        self.interval = dt.timedelta(seconds=interval_s) if interval_s else dt.timedelta(days=36500)
        self.wake = wake
        self.audit = audit
        self.plans = plans

    def start(
        self,
        account_id: str,
        credential_id: str,
        from_date: str,
        to_date: str,
        reason: str,
    ) -> dict[str, Any]:
        check_id(account_id, "account_id")
        if not _ID.fullmatch(credential_id or ""):
            raise NotFound("credential not found")
        reason = reason or "manual"
        if reason not in ("manual", "backfill"):
            raise InvalidArgument("reason must be manual or backfill")
        now = self.clock()
        plan = self.plan_of(account_id) if self.plan_of is not None else None
        if plan is not None:
            if self.plans is not None:
                # auth's answer now, so the plan limits applied below are current even before the
                # reconciler has seen the change (the reconciler's overlap re-read corrects a
                # copy a slow StartSync may have written after a newer change).
                self.plans.record(account_id, plan.id)
            plangates.require_history(plan, from_date, now.date())
        days = limits.sync_range(from_date, to_date, reason, now.date(), plan.history_days if plan else 0)
        try:
            credential = self.credentials.get(account_id, credential_id)
        except CredentialGone:
            raise NotFound("credential not found") from None
        except KeyvaultUnavailable:
            raise Unavailable("the key store is not answering; try again shortly") from None
        if credential.platform not in CONNECTORS:
            raise FailedPrecondition(
                f"{platform_name(credential.platform)} has no usage API we can read: upload a billing file."
            )
        existing = self.runs.backfill_of(account_id, credential_id) if reason == "backfill" else None
        if existing is not None:
            if existing["account_id"] != account_id:
                raise NotFound("credential not found")
            return existing  # a key is backfilled once, whoever asks (gateway fast path, reconciler)
        self.runs.targets.register(account_id, credential_id, credential.platform, now + self.interval, now)
        if self.plans is not None:
            applied = self.plans.apply(account_id)
            if credential_id in applied.paused:
                unlimited = cheapest_plan(lambda p: p.max_credentials is None)
                raise PlanRequired(
                    applied.message, plan=applied.plan, required_plan=unlimited.id if unlimited else ""
                )
        active = self.runs.active_run(account_id, credential_id)
        if active is not None and _covers(active, days):
            return active  # a queued or running run already reads these days
        ctx = context.current()
        origin = {"request_id": ctx.request_id, "client_ip": ctx.client_ip, "user_agent": ctx.user_agent}
        run = self.runs.enqueue(
            account_id, credential_id, credential.platform, reason, days.first, days.last, now, origin
        )
        self.wake()
        return run

    def forget(self, account_id: str, credential_id: str, delete_records: bool) -> tuple[int, int]:
        """Stop scheduling the credential, cancel its queued runs, optionally drop its records.
        Safe to repeat: only the first call finds anything to do (and is audited)."""
        check_id(account_id, "account_id")
        check_id(credential_id, "credential_id")
        now = self.clock()
        forgotten = self.runs.targets.forget(account_id, credential_id)
        if self.plans is not None:
            self.plans.apply(account_id)  # a slot is free: the oldest paused key resumes
        cancelled = self.runs.cancel_queued(account_id, credential_id, FORGOTTEN, now)
        deleted = self.records.delete_credential(account_id, credential_id) if delete_records else 0
        # Idempotent: forgetting again (the reconciler after the gateway's fast path) changes
        # nothing and records nothing. Only the caller whose delete removed the target audits (two
        # racing calls could each cancel a run, but only one removes the target).
        if self.audit is not None and (forgotten or deleted):
            self.audit.record(
                "usage.credential_forgotten",
                account_id=account_id,
                target_type="credential",
                target_id=credential_id,
                details={"cancelled_runs": cancelled, "deleted_records": deleted},
                required=False,
            )
        return cancelled, deleted

    def get(self, account_id: str, run_id: str) -> dict[str, Any]:
        check_id(account_id, "account_id")
        run = self.runs.get(account_id, run_id) if _ID.fullmatch(run_id or "") else None
        if run is None:
            raise NotFound("sync run not found")
        return run

    def list(
        self, account_id: str, credential_id: str, limit: int, cursor: str
    ) -> tuple[list[dict[str, Any]], str]:
        check_id(account_id, "account_id")
        if credential_id:
            check_id(credential_id, "credential_id")
        size = limits.page_size(limit, limits.DEFAULT_RUNS_PAGE)
        runs = self.runs.page(
            account_id, credential_id, size + 1, decode_run_cursor(cursor) if cursor else None
        )
        if len(runs) <= size:
            return runs, ""
        last = runs[size - 1]
        return runs[:size], encode_run_cursor(last["queued_at"], last["_id"])


def _covers(run: dict[str, Any], days: limits.DayRange) -> bool:
    return run["from_date"] <= days.first.isoformat() and run["to_date"] >= days.last.isoformat()


def encode_run_cursor(queued_at: dt.datetime, run_id: str) -> str:
    return cursors.encode([queued_at.isoformat(), run_id])


def decode_run_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        stamp, run_id = cursors.decode(cursor, 2)
        when = dt.datetime.fromisoformat(stamp)
        if when.tzinfo is None or not isinstance(run_id, str):
            raise ValueError
        return when, run_id
    except (ValueError, TypeError):
        raise InvalidArgument("cursor is not valid; start again without it") from None
