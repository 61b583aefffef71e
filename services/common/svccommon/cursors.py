"""Opaque page cursors: the key a page ended at, as a short JSON list in URL-safe base64 without
padding. Callers check the values' types and answer a bad cursor with their own error."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

MAX_CURSOR_CHARS = 2048


class BadCursor(ValueError):
    """Not a cursor this API gave out."""


def encode(values: Sequence[str | int]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    """The `size` values a cursor holds (their types are the caller's to check)."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise BadCursor("cursor too long")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("not base64 JSON") from None
    if not isinstance(values, list) or len(values) != size:
        raise BadCursor(f"not a list of {size} values")
    return values
