"""Audit list plumbing in the gateway: the opaque cursor, CSV cells a spreadsheet would run as
formulas, and the streamed JSON array."""

import csv
import io
import json

import pytest
from aicosts.audit.v1 import audit_pb2 as pb
from flask import Flask
from gateway.api.audit_feed import decode_cursor, encode_cursor, stream_csv, stream_json
from gateway.problems import Problem
from google.protobuf.timestamp_pb2 import Timestamp


def test_cursor_round_trip_and_garbage_is_a_400():
    event = pb.AuditEvent(id="ab" * 16, at=Timestamp(seconds=1_760_000_000, nanos=123_000_000))
    assert decode_cursor(encode_cursor(event)) == (1_760_000_000, 123_000_000, "ab" * 16)
    with Flask(__name__).test_request_context():
        for bad in ("garbage", encode_cursor(event)[:-3], "WzEsMiwzXQ", "eyJhIjoxfQ"):
            with pytest.raises(Problem) as problem:
                decode_cursor(bad)
            assert problem.value.status == 400


def _event(i: int, agent: str) -> dict:
    return {
        "id": str(i),
        "at": "2026-01-01T00:00:00.000Z",
        "actor": "account:a",
        "action": "account.updated",
        "target": {"type": "account", "id": "a"},
        "ip": "127.0.0.1",
        "user_agent": agent,
        "request_id": "r",
        "outcome": "success",
        "service": "auth",
        "details": {"fields": ["name"], "note": "=2"},
    }


def test_csv_stream_quotes_every_dangerous_cell_and_keeps_the_rest():
    agents = ["=cmd|' /C calc'!A0", "\0=1+1", "curl/8", 'a,b\n"c"']
    events = [_event(i, agent) for i, agent in enumerate(agents)]
    rows = list(csv.DictReader(io.StringIO("".join(stream_csv(iter(events))))))
    assert [r["user_agent"] for r in rows] == ["'=cmd|' /C calc'!A0", "'\0=1+1", "curl/8", 'a,b\n"c"']
    assert json.loads(rows[0]["details"]) == {"fields": ["name"], "note": "=2"}


def test_json_stream_is_one_array():
    assert json.loads("".join(stream_json(iter([])))) == []
    events = [_event(1, "x"), _event(2, "y")]
    assert json.loads("".join(stream_json(iter(events)))) == events
