"""Database contract (tests/integration/db_contract/): every query and update shape the services send
to MongoDB, run against the session database (a pinned mongo container, or the embedded SecantusDB
server when no Docker engine answers). The embedded database is pinned in constraints.txt; when an
upgrade breaks one of these shapes, those tests fail before a service does.

Each test names the module that relies on the shape. Indexes come from the stores' own
ensure_indexes (the planner of the embedded database picks different plans with different indexes,
so the contract holds for the index set the services really create). Known defects of the embedded
database are strict-xfail canaries there (and plain tests on MongoDB): once an upgrade fixes one,
the canary XPASSes, which fails the run and says which workaround can go.

This module holds the names the contract files share; their fixtures are in that folder's
conftest.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pymongo import ASCENDING, DESCENDING
from usage.recordstore import KEY_FIELDS

DUPLICATE_KEY = 11000
ACCOUNT, OTHER = "acct-contract", "acct-other"
RECORD_SORT = [(f, ASCENDING) for f in KEY_FIELDS]
NEWEST_FIRST = [("at", DESCENDING), ("_id", DESCENDING)]
DAY0 = dt.date(2026, 10, 25)  # the data spans the October/November boundary
DAYS = [(DAY0 + dt.timedelta(days=i)).isoformat() for i in range(16)]
FIRST, LAST = DAYS[2], DAYS[14]  # days 0, 1 and 15 lie outside


def known_defect(request: pytest.FixtureRequest, secantus: str | None, reason: str) -> None:
    """Expect the rest of the test to fail its assertions on the embedded database only."""
    if secantus is not None:
        reason = f"SecantusDB {secantus}: {reason}"
        request.applymarker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))


def now_ms() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
