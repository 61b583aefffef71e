"""One sync run, start to finish: reveal the key, fetch day by day, store each completed day,
and end with a status the user can act on.

- Every completed day is written at once (and stays, whatever happens later in the run).
- A day the provider answered in an unknown shape fails alone; it is never stored as zero.
- Days outside the window the provider's API serves (``Connector.served_days``) are not asked
  for; the run names them and why (``unavailable_days``, ``notice``) and does not fail for them.
- An empty answer for a day with stored records keeps them and flags the day (``kept_days``);
  only a second empty answer, in a later run, erases them (``usage.emptydays``).
- 401/403: the credential is marked invalid in keyvault with the connector's message.
- A peer that answers late (keyvault, the database) is asked again within the run, a few times
  with backoff (usage.stepretry): one slow answer never fails a backfill. A key store silent
  through every attempt fails the run with its days listed, so the next sync asks for them again.
- Provider outage: the run ends (partial when some days were stored, else failed) and the
  days not reached are listed as failed; the next scheduled sync retries from the first one, and
  comes sooner than the interval, later with each failure in a row (usage.scheduling.retry_delay).
  Days outside the provider's window are not failures: they are listed as unavailable.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from svccommon import context
from svccommon.audit import AuditLog
from svccommon.audit import Outcome as AuditOutcome
from svccommon.mongo import answered_late

from usage.clients.keyvault_credentials import CredentialGone, Credentials, KeyvaultUnavailable
from usage.connectors import (
    PLATFORMS,
    Connector,
    ConnectorError,
    InvalidCredential,
    ProviderRejected,
    ProviderUnavailable,
    UnexpectedShape,
)
from usage.connectors.base import DayResult, iter_days
from usage.recordstore import RecordStore
from usage.runstore import RunStore
from usage.scheduling import retry_delay
from usage.stepretry import StepRetry

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[str], Connector]


class Interrupted(Exception):
    """The process is stopping: the run goes back to the queue."""


@dataclass
class Outcome:
    stored: list[dt.date] = field(default_factory=list)
    failed: list[tuple[dt.date, str]] = field(default_factory=list)
    unreached: list[tuple[dt.date, str]] = field(default_factory=list)  # after a whole-run error
    unavailable: list[tuple[dt.date, str]] = field(default_factory=list)  # outside the provider's window
    kept: list[tuple[dt.date, str]] = field(default_factory=list)  # answered empty, stored records kept
    erased: list[dt.date] = field(default_factory=list)  # answered empty a second time: records removed
    error: str = ""

    def status(self) -> str:
        if self.failed or self.error:
            return "partial" if self.stored else "failed"
        return "succeeded"


def platform_name(platform: str) -> str:
    known = PLATFORMS.get(platform)
    return known.name if known else platform


_KEPT = "they are kept and flagged until a later sync confirms the day is empty."


def kept_message(platform: str) -> str:
    name = platform_name(platform)
    return f"{name} answered this day with no usage although records are stored for it; {_KEPT}"


def day_error(platform: str, error: ConnectorError) -> str:
    name = platform_name(platform)
    if isinstance(error, UnexpectedShape):
        return f"{name} answered in a shape we do not recognise ({error.detail}); this day was not stored."
    if isinstance(error, ProviderRejected):
        return f"{name} refused the request for this day (HTTP {error.status}: {error.detail})."
    return f"{name}: {error}"


def unavailable_message(platform: str, error: ProviderUnavailable) -> str:
    """An outage and a spent rate limit read differently: the second is the key's own quota,
    which other tools using the key (or its organisation) share."""
    name = platform_name(platform)
    kept = "Data already stored is kept; the next sync retries."
    if error.rate_limited:
        return (
            f"{name} is limiting this key's requests ({error.detail}). {kept} "
            "Other tools that use this key or its organisation share the same rate limit."
        )
    return f"{name} is not answering ({error.detail}). {kept}"


class SyncJob:
    def __init__(
        self,
        runs: RunStore,
        records: RecordStore,
        credentials: Credentials,
        connectors: ConnectorFactory,
        owner: str,
        clock: Callable[[], dt.datetime],
        stopping: Callable[[], bool] = lambda: False,
        audit: AuditLog | None = None,
        on_changed: Callable[[str], None] | None = None,
        retry: StepRetry | None = None,
        retry_after_failure: dt.timedelta | None = None,
    ) -> None:
        self.runs = runs
        self.records = records
        self.on_changed = on_changed  # the account's spend changed: alerts evaluate it
        self.credentials = credentials
        self.connectors = connectors
        self.owner = owner
        self.clock = clock
        self.stopping = stopping
        self.audit = audit
        self.retry = retry or StepRetry()
        self.retry_after_failure = retry_after_failure  # None or zero: only the regular interval

    def _db(self, what: str, step: Callable[[], Any]) -> Any:
        """A database step (each one idempotent: a day is replaced whole) asked again when late."""
        return self.retry.call(what, step, answered_late)

    def _kv(self, what: str, step: Callable[[], Any]) -> Any:
        """A keyvault call (reveal, status write: idempotent) asked again when late or unavailable."""
        return self.retry.call(what, step, lambda exc: isinstance(exc, KeyvaultUnavailable))

    def execute(self, run: dict[str, Any]) -> str:
        """Run a claimed run; returns its final status ("queued" when given back on shutdown)."""
        with context.bound(run_context(run)):
            log.info("sync started", extra={"run_id": run["_id"], "platform": run["platform"]})
            self._audit(run, "sync.started", "success", {})
            try:
                outcome = self._sync(run)
            except Interrupted:
                self.runs.release([run["_id"]], self.owner)
                log.info("sync released for later", extra={"run_id": run["_id"]})
                return "queued"
            except Exception as exc:  # never let one run take the worker down
                log.error("sync crashed", extra={"run_id": run["_id"], "error_type": type(exc).__name__})
                outcome = Outcome(error="The sync stopped on an internal error; the next sync retries it.")
                # Its first day counts as failed, so the target's retry_from brings the whole range
                # (a backfill's too) into the next scheduled sync; re-reading stored days is harmless.
                outcome.failed.append((dt.date.fromisoformat(run["from_date"]), outcome.error))
            status = outcome.status()
            error = _summary(outcome)
            unreached = [(d.isoformat(), e) for d, e in outcome.unreached]
            platform = run["platform"]
            spans = unavailable_spans(outcome.unavailable)
            unavailable = _unavailable_text(platform, spans)
            notice = " ".join(filter(None, [unavailable, _empty_text(platform, outcome)]))
            if outcome.stored:
                self._changed(run["account_id"])
            finished_at = self.clock()
            self._db(
                "finish the run",
                lambda: self.runs.finish(
                    run["_id"], self.owner, status, error, finished_at, unreached, spans, notice
                ),
            )
            self._after(run, outcome, unavailable)
            log.info(
                "sync finished",
                extra={"run_id": run["_id"], "status": status, "days": len(outcome.stored)},
            )
            details = {"status": status, "days": len(outcome.stored), "failed_days": len(outcome.failed)}
            if status == "failed":
                self._audit(run, "sync.failed", "failure", {**details, "error": error})
            else:
                self._audit(run, "sync.finished", "success", details)
            return status

    def _changed(self, account_id: str) -> None:
        # Marked before the run is finished: a crash in between re-runs the sync, which marks again.
        if self.on_changed is None:
            return
        try:
            self.on_changed(account_id)
        except Exception as exc:  # the daily evaluation still covers it
            log.error("could not queue the alert evaluation", extra={"error_type": type(exc).__name__})

    def _audit(
        self, run: dict[str, Any], action: str, outcome: AuditOutcome, details: dict[str, Any]
    ) -> None:
        """Not required: the run's own record says what happened if this event is lost."""
        if self.audit is None:
            return
        scheduled = run["reason"] == "scheduled"
        self.audit.record(
            action,
            outcome=outcome,
            account_id=run["account_id"],
            actor="service:usage" if scheduled else f"account:{run['account_id']}",
            target_type="sync_run",
            target_id=run["_id"],
            details={
                "credential_id": run["credential_id"],
                "platform": run["platform"],
                "reason": run["reason"],
                "from": run["from_date"],
                "to": run["to_date"],
                **details,
            },
            required=False,
        )

    def _sync(self, run: dict[str, Any]) -> Outcome:
        account_id, credential_id = run["account_id"], run["credential_id"]
        first, last = dt.date.fromisoformat(run["from_date"]), dt.date.fromisoformat(run["to_date"])
        outcome = Outcome()
        done: set[dt.date] = set()
        try:
            platform, api_key = self._kv(
                "reveal the key", lambda: self.credentials.reveal(account_id, credential_id)
            )
        except CredentialGone:
            self._db("forget the target", lambda: self.runs.targets.forget(account_id, credential_id))
            outcome.error = "The credential was deleted; nothing was synced."
            return outcome
        except KeyvaultUnavailable:
            # Every day is listed as not reached, so the target's retry_from brings the whole
            # range (a 90-day backfill, not just the scheduled window) into the next sync.
            outcome.error = (
                f"The key store did not answer after {self.retry.attempts} attempts; nothing was synced. "
                "The next sync retries these days."
            )
            self._list_unreached(outcome, self.connectors(run["platform"]), first, last, done)
            return outcome
        if platform != run["platform"]:
            outcome.error = "The credential no longer matches this platform; nothing was synced."
            return outcome
        days = [d.isoformat() for d in iter_days(first, last)]
        connector = self.connectors(platform)
        try:
            with self.records.rollups.deferred(account_id, days):
                self._fetch_and_store(run, connector, api_key, first, last, done, outcome)
            self._refresh_names(account_id, credential_id, connector, api_key)
        except InvalidCredential as exc:
            outcome.error = exc.message_for_user
            self._mark_invalid(account_id, credential_id, exc.message_for_user)
        except ProviderUnavailable as exc:
            outcome.error = _scrub(unavailable_message(platform, exc), api_key)
        except ConnectorError as exc:
            outcome.error = _scrub(f"{platform_name(platform)}: {exc}", api_key)
        if outcome.error:
            self._list_unreached(outcome, connector, first, last, done)
        return outcome

    def _list_unreached(
        self, outcome: Outcome, connector: Connector, first: dt.date, last: dt.date, done: set[dt.date]
    ) -> None:
        """After a whole-run error: the days not answered fail with it (outside the provider's
        window they are only unavailable: they would not have been asked anyway)."""
        today = self.clock().date()
        for day in iter_days(first, min(last, today)):
            if day in done:
                continue
            reason = connector.unavailable_reason(day, today)
            if reason:
                outcome.unavailable.append((day, reason))
            else:
                outcome.unreached.append((day, outcome.error))
        outcome.unavailable.sort()
        outcome.failed.extend(outcome.unreached)

    def _fetch_and_store(
        self,
        run: dict[str, Any],
        connector: Connector,
        api_key: str,
        first: dt.date,
        last: dt.date,
        done: set[dt.date],
        outcome: Outcome,
    ) -> None:
        """Each day the provider answers is stored at once; a day it could not give fails alone."""
        account_id, credential_id, platform = run["account_id"], run["credential_id"], connector.platform
        marks = self._db(
            "read the empty days",
            lambda: self.records.empty_days.between(account_id, credential_id, first, last),
        )
        for result in connector.fetch(api_key, first, last):
            if self.stopping():
                raise Interrupted()
            done.add(result.day)
            if result.unavailable:
                outcome.unavailable.append((result.day, result.unavailable))
                continue
            self._take_day(run, platform, api_key, result, marks, outcome)

    def _take_day(
        self,
        run: dict[str, Any],
        platform: str,
        api_key: str,
        result: DayResult,
        marks: dict[str, str],
        outcome: Outcome,
    ) -> None:
        """Store one answered day (or record why not); every write is asked again when late."""
        account_id, credential_id, iso = run["account_id"], run["credential_id"], result.day.isoformat()
        day, now = result.day, self.clock()
        if result.error is not None:  # what `not result.ok` means
            message = _scrub(day_error(platform, result.error), api_key)
            self._db(
                "record a failed day",
                lambda: self.runs.progress(run["_id"], self.owner, now, failed=(iso, message)),
            )
            outcome.failed.append((day, message))
            return
        if not result.records and self._db(
            "read a stored day",
            lambda: self.records.synced_records(account_id, credential_id, platform, day),
        ):
            if marks.get(iso) in (None, run["_id"]):  # the first empty answer (this run may be resumed)
                message = kept_message(platform)

                def keep() -> None:
                    self.records.empty_days.mark(account_id, credential_id, day, run["_id"], now)
                    self.records.flag_day(account_id, credential_id, platform, day)

                self._db("keep a day answered empty", keep)
                self._db(
                    "record a kept day",
                    lambda: self.runs.progress(run["_id"], self.owner, now, kept=(iso, message)),
                )
                outcome.kept.append((day, message))
                return
            outcome.erased.append(day)  # empty again in a later run: the day is empty

        def store() -> int:
            stored = self.records.replace_day(
                account_id, credential_id, platform, day, result.records, run["_id"], now
            )
            if iso in marks:
                self.records.empty_days.clear(account_id, credential_id, day)
            return stored

        n = self._db("store a day", store)
        self._db("record progress", lambda: self.runs.progress(run["_id"], self.owner, now, records=n))
        outcome.stored.append(day)

    def _refresh_names(self, account_id: str, credential_id: str, connector: Connector, api_key: str) -> None:
        """The provider's current names of its projects and keys (usage.attribution). Records
        keep ids, so a failure here only leaves older names (or ids) on screen."""
        try:
            names = connector.names(api_key)
            self.records.names.save(account_id, credential_id, connector.platform, names, self.clock())
        except Exception as exc:
            log.warning("could not read the provider's names", extra={"error_type": type(exc).__name__})

    def _mark_invalid(self, account_id: str, credential_id: str, message: str) -> None:
        try:
            self._kv(
                "mark the key invalid",
                lambda: self.credentials.mark_invalid(account_id, credential_id, message),
            )
        except (CredentialGone, KeyvaultUnavailable, Exception) as exc:  # the run result says it anyway
            log.warning("could not mark credential invalid", extra={"error_type": type(exc).__name__})
        self._db(
            "pause the target",
            lambda: self.runs.targets.update(account_id, credential_id, {"status": "invalid"}),
        )

    def _next_try(self, target: dict[str, Any], failed: bool) -> dict[str, Any]:
        """Failures in a row, and after a failure an earlier next sync than the interval's."""
        if not failed:
            return {"failures_in_a_row": 0}
        failures = int(target.get("failures_in_a_row") or 0) + 1
        fields: dict[str, Any] = {"failures_in_a_row": failures}
        if self.retry_after_failure:
            at = self.clock() + retry_delay(failures, self.retry_after_failure)
            current = target.get("next_sync_at")  # tz-aware: every Mongo client is (svccommon.mongo)
            if current is None or at < current:
                fields["next_sync_at"] = at
        return fields

    def _after(self, run: dict[str, Any], outcome: Outcome, key_note: str) -> None:
        """Remember how far this credential is synced, and tell keyvault when a sync worked (with
        the days the provider cannot give, so the key says it too)."""
        account_id, credential_id = run["account_id"], run["credential_id"]
        answered = outcome.stored + [d for d, _ in outcome.kept]
        target = self._db("read the target", lambda: self.runs.targets.get(account_id, credential_id))
        if target is not None:
            fields: dict[str, Any] = {"last_run_id": run["_id"]}
            if answered:
                latest = max(answered).isoformat()
                fields["synced_until"] = max(latest, target.get("synced_until") or latest)
            # Kept days are asked again by the next scheduled sync, which confirms or refills them.
            again = [d for d, _ in outcome.failed] + [d for d, _ in outcome.kept]
            fields["retry_from"] = min(again).isoformat() if again else None
            fields.update(self._next_try(target, bool(outcome.failed)))
            self._db(
                "advance the target", lambda: self.runs.targets.update(account_id, credential_id, fields)
            )
        try:
            if answered:
                at = self.clock()
                self._kv(
                    "record the sync on the key",
                    lambda: self.credentials.mark_synced(account_id, credential_id, at, key_note),
                )
            elif key_note and not outcome.error:
                self._kv(
                    "note on the key", lambda: self.credentials.note(account_id, credential_id, key_note)
                )
        except Exception as exc:  # status is informative; the data is stored already
            log.warning("could not record the sync in keyvault", extra={"error_type": type(exc).__name__})


def run_context(run: dict[str, Any]) -> context.RequestContext:
    """The context of the request that queued the run (a scheduled run has its own id)."""
    origin = run.get("origin") or {}
    request_id = origin.get("request_id", "")
    return context.RequestContext(
        request_id=request_id if context.valid_request_id(request_id) else run["_id"],
        account_id=run["account_id"],
        client_ip=origin.get("client_ip", ""),
        user_agent=origin.get("user_agent", ""),
    )


def _summary(outcome: Outcome) -> str:
    if outcome.error:
        return outcome.error
    if outcome.failed:
        total = len(outcome.failed) + len(outcome.stored)
        first = outcome.failed[0][1]
        return f"{len(outcome.failed)} of {total} days could not be read; see failed_days. {first}"
    return ""


def unavailable_spans(days: list[tuple[dt.date, str]]) -> list[dict[str, str]]:
    """Consecutive days with the same reason as one span: [{from, to, reason}]."""
    spans: list[dict[str, str]] = []
    previous: dt.date | None = None
    for day, reason in sorted(days):
        if (
            spans
            and previous is not None
            and day - previous == dt.timedelta(days=1)
            and spans[-1]["reason"] == reason
        ):
            spans[-1]["to"] = day.isoformat()
        else:
            spans.append({"from": day.isoformat(), "to": day.isoformat(), "reason": reason})
        previous = day
    return spans


def _unavailable_text(platform: str, spans: list[dict[str, str]]) -> str:
    if not spans:
        return ""
    parts = [
        (s["from"] if s["from"] == s["to"] else f"{s['from']} to {s['to']}") + f" ({s['reason']})"
        for s in spans
    ]
    name = platform_name(platform)
    return f"{name} cannot give {'; '.join(parts)}. These days were not asked for and are not failures."


def _empty_text(platform: str, outcome: Outcome) -> str:
    text = []
    if outcome.kept:
        days = ", ".join(d.isoformat() for d, _ in outcome.kept)
        name = platform_name(platform)
        text.append(f"{name} answered {days} with no usage although records are stored; {_KEPT}")
    if outcome.erased:
        days = ", ".join(d.isoformat() for d in outcome.erased)
        text.append(f"{days}: answered empty a second time, so the stored records were removed.")
    return " ".join(text)


def _scrub(text: str, api_key: str) -> str:
    """Provider messages can echo the key: never let it reach a run, a log or a response."""
    return text.replace(api_key, "***") if api_key else text
