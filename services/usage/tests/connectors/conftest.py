"""Fixtures for connector tests: a no-wait HTTP client and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from testkit.fakes import SleepRecorder
from usage.connectors.http import HttpClient

NOW = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
MAX_ATTEMPTS = 3


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def http(sleeps: SleepRecorder) -> HttpClient:
    return HttpClient(max_attempts=MAX_ATTEMPTS, sleep=sleeps, timeout=(2.0, 5.0))


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW
