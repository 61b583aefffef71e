"""The JSON log records of a running stack, read from its combined log (`name.1 | {...}` lines)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def records(stack: Any) -> Iterator[dict[str, Any]]:
    """Every JSON record the stack's processes have logged so far, in order; other lines skipped."""
    for raw in stack.log_text().splitlines():
        if "| {" not in raw:
            continue
        try:
            yield json.loads(raw.split("| ", 1)[1])
        except ValueError:
            continue  # a line cut short while it was being written
