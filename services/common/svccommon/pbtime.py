"""Datetimes as google.protobuf.Timestamp, the one way every service fills timestamp fields."""

from __future__ import annotations

import datetime as dt
from typing import overload

from google.protobuf.timestamp_pb2 import Timestamp


@overload
def timestamp(value: dt.datetime) -> Timestamp: ...
@overload
def timestamp(value: None) -> None: ...
def timestamp(value: dt.datetime | None) -> Timestamp | None:
    """None stays None (an unset message field); aware datetimes are converted to UTC first."""
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(dt.UTC) if value.tzinfo is not None else value)
    return stamp
