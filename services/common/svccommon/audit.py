"""Audit events: one shape for every service, written to that service's own `audit_events`
collection. Actor, IP, user agent and request id come from the request context (set by the
gateway and carried in gRPC metadata), never from the client directly.

The failure rule (`record(..., required=...)`):
- required=True (security actions: sign-in, sessions, passwords, 2FA, credential create/delete/
  reveal, secrets, key rotation, audit export): written before the action is reported done; if
  the write fails, the exception propagates and the action fails with it.
- required=False (everything else: syncs, uploads, imported records, denied inter-service calls):
  handed to a background writer so the action never waits on it; a failed write is logged at
  ERROR ("audit write failed") and retried 3 times with backoff, then logged at ERROR once more
  ("audit event lost") with the event minus its details.

`record_repeated` is for what anyone can repeat without signing in (refused webhook deliveries):
the repetitions of one thing within a window are one required event that counts them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from svccommon import context

log = logging.getLogger("svccommon.audit")

Outcome = Literal["success", "failure", "denied"]
OUTCOMES: tuple[Outcome, ...] = ("success", "failure", "denied")
DEFAULT_RETENTION_DAYS = 365
TTL_INDEX = "retention_ttl"
RETRIES = 3
RETRY_BASE_S = 0.5
MAX_PENDING = 10_000  # background events waiting to be written; beyond this they are logged as lost
# Never stored in details, whoever passes them: an audit log is read by people and exported.
SECRET_DETAIL_KEYS = frozenset(
    {"password", "new_password", "api_key", "token", "secret", "code", "refresh_token", "access_token"}
)
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def now_ms() -> dt.datetime:
    """Mongo keeps milliseconds: events carry exactly the time they are stored with (cursors)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _just_before(since: dt.datetime) -> dt.datetime:
    """`at > this` is `at >= since` for millisecond times. (The embedded development database
    treats $gte on a descending compound index as $gt; $gt itself is right everywhere:
    tests/integration/db_contract/test_audit.py::test_audit_gte_on_descending_index.)"""
    ceiling = since + dt.timedelta(microseconds=(-since.microsecond) % 1000)
    if ceiling - dt.datetime.min.replace(tzinfo=ceiling.tzinfo) < dt.timedelta(milliseconds=1):
        return ceiling  # datetime's first instant, where no event is stored: `at >` it is right
    return ceiling - dt.timedelta(milliseconds=1)


def _clean_details(details: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (details or {}).items() if k.lower() not in SECRET_DETAIL_KEYS}


class AuditLog:
    def __init__(self, db: Database, service: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.events: Collection = db["audit_events"]
        self.service = service
        self.retention_days = retention_days
        self._background = _BackgroundWriter(self.events)

    def ensure_indexes(self) -> None:
        self.events.create_index([("account_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)])
        self.events.create_index([("account_id", ASCENDING), ("action", ASCENDING), ("at", DESCENDING)])
        self.ensure_retention()

    def ensure_retention(self) -> None:
        """Mongo's TTL monitor deletes events older than the retention period. A changed
        AUDIT_RETENTION_DAYS updates the existing index in place (collMod)."""
        seconds = self.retention_days * 86400
        current = self.events.index_information().get(TTL_INDEX)
        if current is None:
            self.events.create_index("at", expireAfterSeconds=seconds, name=TTL_INDEX)
            return
        if current.get("expireAfterSeconds") == seconds:
            return
        try:
            self.events.database.command(
                "collMod", self.events.name, index={"name": TTL_INDEX, "expireAfterSeconds": seconds}
            )
        except OperationFailure:  # a server without collMod for TTL: rebuild the index instead
            self.events.drop_index(TTL_INDEX)
            self.events.create_index("at", expireAfterSeconds=seconds, name=TTL_INDEX)
        log.info("audit retention changed", extra={"retention_days": self.retention_days})

    def record(
        self,
        action: str,
        *,
        outcome: Outcome = "success",
        account_id: str | None = None,
        actor: str | None = None,
        target_type: str = "",
        target_id: str = "",
        details: dict[str, Any] | None = None,
        required: bool = True,
    ) -> dict[str, Any]:
        """Write one event (see the module docstring for `required`). Returns the event."""
        event = self._event(action, outcome, account_id, actor, target_type, target_id)
        event["details"] = _clean_details(details)
        if required:
            self.events.insert_one(event)
        else:
            self._background.submit(event)
        log.info("audit", extra={"action": action, "outcome": outcome, "target_type": target_type})
        return event

    def record_repeated(
        self,
        action: str,
        *,
        key: str,
        window_s: int,
        outcome: Outcome = "denied",
        actor: str | None = None,
        target_type: str = "",
        target_id: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """One event for all repetitions of the same thing within a fixed window of `window_s`
        seconds (`key` says what makes two the same, such as a reason and a client network): the
        first writes the event, each later one adds to its details.count and sets details.last_at,
        in one atomic upsert. For what anyone can repeat without signing in, so a flood of
        requests is not a year of audit events one by one. Written before returning (required)."""
        event = self._event(action, outcome, None, actor, target_type, target_id)
        at = event["at"]
        window = int(at.timestamp()) // window_s
        digest = hashlib.sha256(f"{self.service}|{action}|{key}|{window_s}|{window}".encode())
        first = {k: v for k, v in event.items() if k != "_id"}
        first.update({f"details.{k}": v for k, v in _clean_details(details).items()})
        first["details.window_seconds"] = window_s
        count = {"$inc": {"details.count": 1}, "$set": {"details.last_at": at}}
        query = {"_id": digest.hexdigest()[:32]}
        try:
            written = self.events.update_one(query, {"$setOnInsert": first, **count}, upsert=True)
        except DuplicateKeyError:  # another repetition inserted it first: count this one on it
            written = self.events.update_one(query, count)
        if written.upserted_id is not None:
            log.info("audit", extra={"action": action, "outcome": outcome, "target_type": target_type})

    def _event(
        self,
        action: str,
        outcome: Outcome,
        account_id: str | None,
        actor: str | None,
        target_type: str,
        target_id: str,
    ) -> dict[str, Any]:
        ctx = context.current()
        account = account_id if account_id is not None else ctx.account_id
        return {
            "_id": uuid.uuid4().hex,
            "at": now_ms(),
            "account_id": account or None,
            "actor": actor or (f"account:{account}" if account else f"service:{self.service}"),
            "action": action,
            "target": {"type": target_type, "id": target_id},
            "ip": ctx.client_ip or None,
            "user_agent": ctx.user_agent or None,
            "request_id": ctx.request_id or None,
            "outcome": outcome,
            "service": self.service,
        }

    def page(
        self,
        account_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        actions: Sequence[str] = (),
        outcome: str = "",
        after: tuple[dt.datetime, str] | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """One account's events, newest first by (at, id), strictly after the `after` cursor."""
        query: dict[str, Any] = {"account_id": account_id}
        clauses: list[dict[str, Any]] = []
        if since is not None or until is not None:
            query["at"] = {
                **({"$gt": _just_before(since)} if since is not None else {}),
                **({"$lt": until} if until is not None else {}),
            }
        if actions:
            matches: list[dict[str, Any]] = [{"action": {"$in": list(actions)}}]
            matches += [{"action": {"$regex": f"^{re.escape(a)}\\."}} for a in actions]
            clauses.append({"$or": matches})
        if outcome:
            query["outcome"] = outcome
        if after is not None:
            at, event_id = after
            clauses.append({"$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": event_id}}]})
        if clauses:
            query["$and"] = clauses
        cursor = self.events.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return list(cursor)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait for background writes (tests, shutdown); True when none is pending."""
        return self._background.flush(timeout_s)


def summary(event: dict[str, Any]) -> dict[str, Any]:
    """The event minus details, for log lines about it."""
    return {
        "event_id": event["_id"],
        "event_at": event["at"].isoformat(),
        "account_id": event["account_id"],
        "actor": event["actor"],
        "action": event["action"],
        "target_type": event["target"]["type"],
        "target_id": event["target"]["id"],
        "outcome": event["outcome"],
        "client_ip": event["ip"],
        "request_id": event["request_id"],
    }


class _BackgroundWriter:
    """One daemon thread per audit log writes the events no action waits for, with retries."""

    def __init__(self, events: Collection) -> None:
        self._events = events
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=MAX_PENDING)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            log.error("audit event lost", extra={**summary(event), "reason": "backlog_full"})

    def flush(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                self._write(event)
            finally:
                self._queue.task_done()

    def _write(self, event: dict[str, Any]) -> None:
        for attempt in range(RETRIES + 1):
            try:
                self._events.insert_one(event)
                return
            except DuplicateKeyError:
                return  # an earlier attempt reached the database after all
            except PyMongoError as exc:
                log.error(
                    "audit write failed",
                    extra={**summary(event), "attempt": attempt + 1, "error_type": type(exc).__name__},
                )
            if attempt < RETRIES:
                time.sleep(RETRY_BASE_S * 2**attempt)
        log.error("audit event lost", extra={**summary(event), "reason": "write_failed"})
