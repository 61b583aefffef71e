"""The caller's audit log: list its events (filters, cursor pages) and export them as CSV or JSON.
Exporting is itself audited (`audit.export`, kept by the auth service with the account's other
security events) before the first byte is sent; if that event cannot be written, no export."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from aicosts.audit.v1 import audit_pb2 as pb
from flask import Blueprint, Response, current_app, g, jsonify, stream_with_context
from pydantic import BaseModel, ConfigDict, Field, field_validator
from svccommon import context

from gateway.api.audit_feed import (
    Filters,
    all_pages,
    decode_cursor,
    encode_cursor,
    event_json,
    fetch_page,
    stream_csv,
    stream_json,
)
from gateway.api.audit_openapi import OPENAPI_PATHS  # noqa: F401 (module contract)
from gateway.authn import require_account
from gateway.openapi import query

bp = Blueprint("audit", __name__)
log = logging.getLogger(__name__)

EXPORT_PAGE = 500
EXPORT_RECORDED_BY = "auth"  # the service that keeps audit.export events
_ACTION_SHAPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def _instant(value: str | None, end_of_day: bool) -> dt.datetime | None:
    """RFC 3339 time (a zone is required), or a day YYYY-MM-DD (`to` then includes that day)."""
    if value is None:
        return None
    try:
        return _parse_instant(value, end_of_day)
    except OverflowError:  # the day after 9999-12-31, or a zone that moves 0001-01-01 earlier
        raise ValueError("must lie between the years 1 and 9999 in UTC") from None


def _parse_instant(value: str, end_of_day: bool) -> dt.datetime:
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a day YYYY-MM-DD or an RFC 3339 time") from None
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        return start + dt.timedelta(days=1) if end_of_day else start
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be a day YYYY-MM-DD or an RFC 3339 time") from None
    if when.tzinfo is None:
        raise ValueError("must carry a time zone (for example 2025-01-31T12:00:00Z)")
    return when.astimezone(dt.UTC)


Instant = Annotated[
    str, Field(max_length=40, json_schema_extra={"anyOf": [{"format": "date"}, {"format": "date-time"}]})
]
Action = Annotated[str, Field(json_schema_extra={"maxLength": 100, "pattern": _ACTION_SHAPE.pattern})]


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Instant | None = Field(
        default=None,
        alias="from",
        description="Events at or after this RFC 3339 time (or from the start of this day, YYYY-MM-DD)",
    )
    to: Instant | None = Field(
        default=None,
        description="Events before this RFC 3339 time (or up to the end of this day, YYYY-MM-DD)",
    )
    action: list[Action] = Field(
        default_factory=list,
        max_length=20,
        description="Repeat or separate with commas; `credential` also matches credential.create",
    )
    outcome: Literal["success", "failure", "denied"] | None = None

    @field_validator("from_", "to")
    @classmethod
    def _valid_time(cls, value: str | None) -> str | None:
        _instant(value, end_of_day=False)
        _instant(value, end_of_day=True)  # `to` is read this way: it must convert too
        return value

    @field_validator("action")
    @classmethod
    def _valid_actions(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > 100 or not _ACTION_SHAPE.match(value):
                raise ValueError(f"{value[:100]!r} is not an action name (like credential.create)")
        return values

    def filters(self, account_id: str) -> Filters:
        return Filters(
            account_id=account_id,
            since=_instant(self.from_, end_of_day=False),
            until=_instant(self.to, end_of_day=True),
            actions=tuple(self.action),
            outcome=self.outcome or "",
        )


class ListQuery(AuditQuery):
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=512)


class ExportQuery(AuditQuery):
    format: Literal["csv", "json"] = "json"


@bp.get("/v1/audit-events")
@require_account
@query(ListQuery)
def list_audit_events(query: ListQuery):
    after = decode_cursor(query.cursor) if query.cursor else None
    events, cursor = fetch_page(query.filters(g.account_id), query.limit, after)
    next_cursor = encode_cursor(events[-1]) if cursor is not None else None
    return jsonify(items=[event_json(e) for e in events], next_cursor=next_cursor)


def _record_export(query: ExportQuery) -> None:
    """Required: raises (and so refuses the export) when the event cannot be written."""
    details = {
        "format": query.format,
        "from": query.from_,
        "to": query.to,
        "actions": query.action,
        "outcome": query.outcome,
    }
    current_app.extensions["backends"].audit[EXPORT_RECORDED_BY].call(
        "RecordAuditEvent",
        pb.RecordAuditEventRequest(
            account_id=g.account_id,
            action="audit.export",
            target_type="audit_log",
            target_id=g.account_id,
            details_json=json.dumps({k: v for k, v in details.items() if v}),
        ),
    )


@bp.get("/v1/audit-events/export")
@require_account
@query(ExportQuery)
def export_audit_events(query: ExportQuery):
    filters = query.filters(g.account_id)
    _record_export(query)
    # The first page is read before answering, so an unavailable service is still a 503 problem.
    first = fetch_page(filters, EXPORT_PAGE, None)
    ctx = context.current()

    def events() -> Iterator[dict[str, Any]]:
        with context.bound(ctx):
            try:
                for event in all_pages(filters, EXPORT_PAGE, first):
                    yield event_json(event)
            except Exception as exc:
                # Too late for a status code: end the stream broken (never silently short).
                log.error("audit export interrupted", extra={"error_type": type(exc).__name__})
                raise

    body = stream_csv(events()) if query.format == "csv" else stream_json(events())
    mimetype = "text/csv" if query.format == "csv" else "application/json"
    response = Response(stream_with_context(body), mimetype=mimetype)
    if query.format == "csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8; header=present"
    response.headers["Content-Disposition"] = f'attachment; filename="aicosts-audit-events.{query.format}"'
    return response
