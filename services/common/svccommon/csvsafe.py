"""CSV cells safe to open in a spreadsheet (OWASP "CSV injection"): text that a spreadsheet could
run as a formula gets a leading apostrophe. Every CSV export (usage records, audit events) writes
its text cells through safe_cell, so there is one list of triggers to keep right."""

from __future__ import annotations

from typing import Any

FORMULA_SIGNS = ("=", "+", "-", "@")
# A cell starting with one of these is quoted too: tab, CR and LF because spreadsheets may drop
# them (or the whitespace after them) before reading a formula sign, NUL because some strip it.
LEADING_CONTROLS = ("\t", "\r", "\n", "\0")
_SKIPPED_BEFORE_SIGN = " \t\r\n\0\x0b\x0c"


def safe_cell(value: Any) -> str:
    """`value` as CSV cell text that is never a live formula."""
    text = "" if value is None else str(value)
    if text.startswith(LEADING_CONTROLS) or text.lstrip(_SKIPPED_BEFORE_SIGN).startswith(FORMULA_SIGNS):
        return "'" + text
    return text
