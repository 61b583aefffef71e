"""How protobuf values appear in the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Any


def timestamp(message: Any, field: str) -> str | None:
    """An optional google.protobuf.Timestamp field as RFC 3339 UTC (seconds), or None if unset."""
    if not message.HasField(field):
        return None
    return getattr(message, field).ToDatetime(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
