"""The chaos suite's stack, provider fakes, scale and report.

CHAOS_SCALE=short (the default, part of `make test`) keeps each fault a few seconds; `make chaos`
sets CHAOS_SCALE=full (longer workload phases, the database down 30 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from chaos.rig import ChaosStack, make_chaos_stack
from chaos.scales import SCALES, Scale
from testkit.fakes import ProviderFakes

REPORT: list[str] = []


@pytest.fixture(scope="session")
def scale() -> Scale:
    name = os.environ.get("CHAOS_SCALE", "short")
    if name not in SCALES:
        raise pytest.UsageError(f"CHAOS_SCALE must be one of {sorted(SCALES)}, not {name!r}")
    return SCALES[name]


@pytest.fixture(scope="session")
def chaos_fakes() -> Iterator[ProviderFakes]:
    with ProviderFakes() as fakes:
        yield fakes


@pytest.fixture(scope="session")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory, chaos_fakes: ProviderFakes) -> Iterator[ChaosStack]:
    """Its own database and services (never the session stack's: scenarios kill them)."""
    env = {
        **chaos_fakes.stack_env(),
        # A run whose worker died is queued again after this long (300 s in production).
        "USAGE_SYNC_STALE_SECONDS": "10",
        "USAGE_RECONCILE_INTERVAL_SECONDS": "0.5",
        "USAGE_RECONCILE_OVERLAP_SECONDS": "5",
        "GATEWAY_WORKERS": "2",
    }
    stack = make_chaos_stack(tmp_path_factory.mktemp("chaos") / "var", env)
    stack.start_all()
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture()
def report(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Lines a scenario reports (what it did, which invariants held): printed as they come (pytest
    -s) and again in the run's summary."""
    lines: list[str] = []
    yield lines
    REPORT.append(f"{request.node.name}:")
    REPORT.extend(f"    {line}" for line in lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("chaos report")
        for line in REPORT:
            terminalreporter.write_line(line)
