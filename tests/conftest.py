"""Session fixtures: one database and one running stack shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.stack import Stack, make_stack
from testkit.fakes import ProviderFakes
from testkit.fakes.stripe_api import FakeStripe
from testkit.mongo import mongo_server

# Whole suites of end-to-end tests: user journeys through the stack, a real browser, the fault
# scenarios. `make test` leaves the `slow` tests out; `make test-slow` (run by CI too) runs them.
SLOW_SUITES = {"e2e", "browser", "chaos"}
TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = item.path.relative_to(TESTS_DIR) if item.path.is_relative_to(TESTS_DIR) else None
        if relative is not None and relative.parts[0] in SLOW_SUITES:
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The fuzz module builds its thousands of cases while it is collected (about 50 s), before any
    # deselection: a run that leaves the slow tests out does not collect it at all.
    if collection_path.name == "test_api_fuzz.py" and config.option.markexpr.replace(" ", "") == "notslow":
        return True
    return None


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mongo_server(tmp_path_factory.mktemp("mongo")) as uri:
        yield uri


@pytest.fixture(scope="session")
def provider_fakes() -> Iterator[ProviderFakes]:
    """Fake AI provider APIs for the session stack; each test loads its own tenant's data."""
    with ProviderFakes() as fakes:
        yield fakes


@pytest.fixture(scope="session")
def stripe_fake() -> Iterator[FakeStripe]:
    """A fake Stripe API for the session stack's auth service (STRIPE_API_BASE and test keys)."""
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    mongo_uri: str,
    provider_fakes: ProviderFakes,
    stripe_fake: FakeStripe,
) -> Iterator[Stack]:
    """The whole system (all services + gateway) on free ports, against the session database,
    with every connector pointed at the provider fakes (PROVIDER_BASE_URL_<PLATFORM>), auth's
    Stripe client at the Stripe fake, and alert webhooks allowed to http://127.0.0.1."""
    env = {
        "MONGODB_URI": mongo_uri,
        **provider_fakes.stack_env(),
        **stripe_fake.stack_env(),
        # Alert webhooks may reach the tests' local receivers (never allowed in production).
        "USAGE_ALERTS_ALLOW_LOCAL_HTTP": "1",
        # usage's reconciler follows key and plan changes every half second (30 s by default).
        "USAGE_RECONCILE_INTERVAL_SECONDS": "0.5",
    }
    s = make_stack(tmp_path_factory.mktemp("stack") / "var", env)
    s.start()
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


@pytest.fixture()
def http(stack: Stack) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["User-Agent"] = "aicosts-tests"
    yield session
    session.close()
