"""aicosts.audit.v1.AuditService, the same in every gRPC service: list one account's events from
this service's own audit log, record an event the gateway witnessed, and audit every call the
allowlist refuses (`rpc.denied`). Each service adds `audit_binding(audit)` to its bindings."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aicosts.audit.v1 import audit_pb2 as pb
from aicosts.audit.v1 import audit_pb2_grpc
from pymongo.database import Database

from svccommon.audit import ACTION_PATTERN, OUTCOMES, AuditLog, Outcome
from svccommon.config import CommonConfig
from svccommon.errors import InvalidArgument
from svccommon.grpcserver import ServiceBinding
from svccommon.pbtime import timestamp

SERVICE = pb.DESCRIPTOR.services_by_name["AuditService"].full_name
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_ACTIONS = 20
MAX_DETAILS_BYTES = 4096
GATEWAY_ACTION_PREFIX = "audit."  # the only events the gateway may record itself
SHUTDOWN_FLUSH_S = 5.0  # background audit writes still pending when the server stops


def _when(request: Any, field: str) -> dt.datetime | None:
    return getattr(request, field).ToDatetime(dt.UTC) if request.HasField(field) else None


def _account_id(value: str) -> str:
    if not value or len(value) > 128 or not value.isprintable():
        raise InvalidArgument("account_id is missing or malformed")
    return value


def _action(value: str) -> str:
    if len(value) > 100 or not ACTION_PATTERN.match(value):
        raise InvalidArgument(f"{value[:100]!r} is not an action name (like credential.create)")
    return value


def _outcome(value: str) -> Outcome | None:
    """The request's outcome, None when unset."""
    for outcome in OUTCOMES:
        if value == outcome:
            return outcome
    if value:
        raise InvalidArgument(f"outcome must be one of {', '.join(OUTCOMES)}")
    return None


def event_message(doc: dict[str, Any]) -> pb.AuditEvent:
    target = doc.get("target") or {}
    return pb.AuditEvent(
        id=doc["_id"],
        at=timestamp(doc["at"]),
        account_id=doc.get("account_id") or "",
        actor=doc.get("actor") or "",
        action=doc.get("action") or "",
        target_type=target.get("type") or "",
        target_id=target.get("id") or "",
        ip=doc.get("ip") or "",
        user_agent=doc.get("user_agent") or "",
        request_id=doc.get("request_id") or "",
        outcome=doc.get("outcome") or "",
        service=doc.get("service") or "",
        details_json=json.dumps(doc.get("details") or {}, default=str, separators=(",", ":")),
    )


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def ListAuditEvents(self, request, context):  # noqa: N802 (gRPC method name)
        limit = request.limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}")
        if len(request.actions) > MAX_ACTIONS:
            raise InvalidArgument(f"at most {MAX_ACTIONS} actions may be given")
        after_at = _when(request, "after_at")
        if (after_at is None) != (not request.after_id):
            raise InvalidArgument("a cursor needs both after_at and after_id")
        docs = self.audit.page(
            _account_id(request.account_id),
            since=_when(request, "from_time"),
            until=_when(request, "to_time"),
            actions=[_action(a) for a in request.actions],
            outcome=_outcome(request.outcome),
            after=(after_at, request.after_id) if after_at is not None else None,
            limit=limit + 1,
        )
        return pb.ListAuditEventsResponse(
            events=[event_message(d) for d in docs[:limit]], more=len(docs) > limit
        )

    def RecordAuditEvent(self, request, context):  # noqa: N802
        action = _action(request.action)
        if not action.startswith(GATEWAY_ACTION_PREFIX):
            raise InvalidArgument(f"only {GATEWAY_ACTION_PREFIX}* actions can be recorded this way")
        details: dict[str, Any] = {}
        if request.details_json:
            if len(request.details_json) > MAX_DETAILS_BYTES:
                raise InvalidArgument("details_json is too long")
            try:
                details = json.loads(request.details_json)
            except ValueError:
                raise InvalidArgument("details_json is not JSON") from None
            if not isinstance(details, dict):
                raise InvalidArgument("details_json must be a JSON object")
        event = self.audit.record(
            action,
            outcome=_outcome(request.outcome) or "success",
            account_id=_account_id(request.account_id),
            target_type=request.target_type[:64],
            target_id=request.target_id[:128],
            details=details,
        )  # required: the caller's action waits for it and fails without it
        return pb.RecordAuditEventResponse(id=event["_id"])


def audit_binding(audit: AuditLog) -> ServiceBinding:
    """Serve the audit API (gateway only) and audit every call this server's allowlist refuses."""
    servicer = AuditServicer(audit)

    def denied(method: str, caller: str) -> None:
        audit.record(
            "rpc.denied",
            outcome="denied",
            actor=f"service:{caller}",
            target_type="rpc",
            target_id=method[:200],
            details={"caller": caller},
            required=False,  # a background write: the denial is never slowed or failed by it
        )

    return ServiceBinding(
        full_name=SERVICE,
        register=lambda server: audit_pb2_grpc.add_AuditServiceServicer_to_server(servicer, server),
        allowlist={f"/{SERVICE}/ListAuditEvents": ("gateway",), f"/{SERVICE}/RecordAuditEvent": ("gateway",)},
        on_denied=denied,
        on_drained=lambda: audit.flush(SHUTDOWN_FLUSH_S),
    )


def open_audit_log(db: Database, common: CommonConfig) -> AuditLog:
    """The service's audit log, its indexes (and AUDIT_RETENTION_DAYS) made current."""
    audit = AuditLog(db, common.service, common.audit_retention_days)
    audit.ensure_indexes()
    return audit
