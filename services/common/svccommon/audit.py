"""Audit events: one shape for every service, written to that service's own `audit_events`
collection. Actor, IP, user agent and request id come from the request context (set by the
gateway and carried in gRPC metadata), never from the client directly."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from svccommon import context

log = logging.getLogger("svccommon.audit")

Outcome = Literal["success", "failure", "denied"]
DEFAULT_RETENTION_DAYS = 365


class AuditLog:
    def __init__(self, db: Database, service: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.events: Collection = db["audit_events"]
        self.service = service
        self.retention_days = retention_days

    def ensure_indexes(self) -> None:
        self.events.create_index([("account_id", ASCENDING), ("at", DESCENDING)])
        self.events.create_index([("account_id", ASCENDING), ("action", ASCENDING), ("at", DESCENDING)])
        # Retention: Mongo's TTL monitor deletes events older than the retention period.
        self.events.create_index("at", expireAfterSeconds=self.retention_days * 86400, name="retention_ttl")

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
    ) -> dict[str, Any]:
        """Write one event. Raises on a failed write: security actions must fail with it."""
        ctx = context.current()
        account = account_id if account_id is not None else ctx.account_id
        event = {
            "_id": uuid.uuid4().hex,
            "at": dt.datetime.now(dt.UTC),
            "account_id": account or None,
            "actor": actor or (f"account:{account}" if account else f"service:{self.service}"),
            "action": action,
            "target": {"type": target_type, "id": target_id},
            "ip": ctx.client_ip or None,
            "user_agent": ctx.user_agent or None,
            "request_id": ctx.request_id or None,
            "outcome": outcome,
            "service": self.service,
            "details": details or {},
        }
        self.events.insert_one(event)
        log.info("audit", extra={"action": action, "outcome": outcome, "target_type": target_type})
        return event
