"""svccommon.cursors: the one cursor encoding every paged API uses."""

from __future__ import annotations

import base64

import pytest
from svccommon import cursors


def test_round_trip_keeps_strings_and_ints_in_order() -> None:
    cursor = cursors.encode(["2026-11-30T00:00:00+00:00", "run-1", 7])
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # safe in a query string
    assert cursors.decode(cursor, 3) == ["2026-11-30T00:00:00+00:00", "run-1", 7]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"{not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),  # JSON, but not a list
        cursors.encode(["one"]),  # a list of the wrong size
        "A" * (cursors.MAX_CURSOR_CHARS + 1),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_anything_else_is_a_bad_cursor(cursor: str) -> None:
    with pytest.raises(cursors.BadCursor):
        cursors.decode(cursor, 2)
