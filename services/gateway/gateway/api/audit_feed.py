"""One account's audit events across the services: every service keeps its own events, so a page
asks all of them at once (futures) and merges their newest-first lists (a k-way merge on
(at desc, id desc)). The cursor is opaque to clients: the (at, id) of the last event returned."""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from aicosts.audit.v1 import audit_pb2 as pb
from flask import current_app
from google.protobuf.timestamp_pb2 import Timestamp
from svccommon import context, cursors
from svccommon.csvsafe import safe_cell

from gateway.api.audit_models import AuditEvent, AuditTarget
from gateway.problems import Problem

Cursor = tuple[int, int, str]  # (seconds, nanos, id) of the last event seen
Page = tuple[list[pb.AuditEvent], Cursor | None]  # events, and the next page's cursor (None: the end)


@dataclass(frozen=True)
class Filters:
    account_id: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    actions: tuple[str, ...] = ()
    outcome: str = ""

    def request(self, limit: int, after: Cursor | None) -> pb.ListAuditEventsRequest:
        message = pb.ListAuditEventsRequest(
            account_id=self.account_id, actions=list(self.actions), outcome=self.outcome, limit=limit
        )
        if self.since is not None:
            message.from_time.FromDatetime(self.since)
        if self.until is not None:
            message.to_time.FromDatetime(self.until)
        if after is not None:
            message.after_at.CopyFrom(Timestamp(seconds=after[0], nanos=after[1]))
            message.after_id = after[2]
        return message


_EARLIEST_SECOND = -62_135_596_800  # 0001-01-01T00:00:00Z
_LATEST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def _key(event: pb.AuditEvent) -> Cursor:
    return (event.at.seconds, event.at.nanos, event.id)


def encode_cursor(event: pb.AuditEvent) -> str:
    return cursors.encode(_key(event))


def decode_cursor(value: str) -> Cursor:
    try:
        seconds, nanos, event_id = cursors.decode(value, 3)
        # type(): a JSON true is a Python int too.
        if not (type(seconds) is int and type(nanos) is int and isinstance(event_id, str)):
            raise ValueError
        if not _EARLIEST_SECOND <= seconds <= _LATEST_SECOND:  # what a Timestamp can hold
            raise ValueError
        if not 0 <= nanos < 10**9 or not 0 < len(event_id) <= 64:
            raise ValueError
        return seconds, nanos, event_id
    except (ValueError, TypeError):  # cursors.BadCursor is a ValueError
        raise Problem(
            400, "the cursor is not valid; use next_cursor from the previous page", kind="validation"
        ) from None


def fetch_page(filters: Filters, limit: int, after: Cursor | None) -> Page:
    """Up to `limit` events after the cursor, and the cursor of the next page (None: the end).
    Every service must answer: a list missing one service's events would mislead (503 then)."""
    clients = current_app.extensions["backends"].audit
    message = filters.request(limit, after)
    metadata = context.current().to_metadata()
    pending = [
        client.stub.ListAuditEvents.future(
            message, timeout=client.timeout_s, metadata=metadata, wait_for_ready=True
        )
        for client in clients.values()
    ]  # all in flight at once
    try:
        replies = [future.result() for future in pending]
    finally:
        for future in pending:
            future.cancel()
    merged = heapq.merge(*(reply.events for reply in replies), key=_key, reverse=True)
    events = list(islice(merged, limit + 1))
    more = len(events) > limit or any(reply.more for reply in replies)
    events = events[:limit]
    return events, (_key(events[-1]) if more and events else None)


def all_pages(filters: Filters, page_size: int, first: Page) -> Iterator[pb.AuditEvent]:
    """Every matching event, page by page (the first page already fetched)."""
    events, cursor = first
    yield from events
    while cursor is not None:
        events, cursor = fetch_page(filters, page_size, cursor)
        yield from events


def event_json(event: pb.AuditEvent) -> dict[str, Any]:
    at = event.at.ToDatetime(dt.UTC)
    return AuditEvent(
        id=event.id,
        at=at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        actor=event.actor,
        action=event.action,
        target=AuditTarget(type=event.target_type or None, id=event.target_id or None),
        ip=event.ip or None,
        user_agent=event.user_agent or None,
        request_id=event.request_id or None,
        outcome=event.outcome,
        service=event.service,
        details=json.loads(event.details_json) if event.details_json else {},
    ).dump()


def stream_json(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """One JSON array, written as the events arrive."""
    yield "["
    for i, event in enumerate(events):
        yield ("," if i else "") + "\n" + json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    yield "\n]\n"


CSV_COLUMNS = (
    "id",
    "at",
    "service",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "user_agent",
    "request_id",
    "details",
)
_FLUSH_BYTES = 64 * 1024


def csv_row(event: dict[str, Any]) -> list[str]:
    flat = {
        **event,
        "target_type": event["target"]["type"],
        "target_id": event["target"]["id"],
        "details": json.dumps(event["details"], separators=(",", ":"), ensure_ascii=False),
    }
    return [safe_cell(flat[column]) for column in CSV_COLUMNS]


def stream_csv(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(csv_row(event))
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
