"""The destination rewrap job against a real collection, with a fake keyvault whose RewrapSecret can
also change the store mid-flight (a delivery re-sealing a stale secret, a user deleting the
destination), so the compare-and-set paths and the census decision are exercised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import pytest
from svccommon.errors import Unavailable
from usage.alerts.destinationstore import DestinationStore
from usage.alerts.rewrap import MAX_ATTEMPTS, StoredDestinations, rewrap_all

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
CENSUS_START = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


class FakeKeyvault:
    """Rewrapping appends the new version to the blob; `during` runs inside a rewrap call."""

    def __init__(self, version: int = 2) -> None:
        self.version = version
        self.during: Callable[[str], None] = lambda destination_id: None
        self.failing: set[str] = set()
        self.finished: list[tuple[dt.datetime, dict[int, int]]] = []
        self.calls = 0

    def reseal(self, account_id: str, destination_id: str, sealed: bytes) -> tuple[bytes, int]:
        self.calls += 1
        self.during(destination_id)
        if destination_id in self.failing:
            raise Unavailable("the key store did not answer; try again shortly")
        return sealed + f"|v{self.version}".encode(), self.version

    def start_census(self) -> dt.datetime:
        return CENSUS_START

    def finish_census(self, started_at: dt.datetime, by_version: Mapping[int, int]) -> None:
        self.finished.append((started_at, dict(by_version)))


@pytest.fixture
def store(db) -> DestinationStore:
    s = DestinationStore(db)
    for n in range(3):
        s.create(f"d{n}", f"acct{n % 2}", "webhook", f"hook {n}", "https://example.com/…", b"v1:%d" % n, NOW)
    return s


def sealed(store: DestinationStore, destination_id: str) -> bytes:
    return bytes(store.destinations.find_one({"_id": destination_id})["sealed"])


def test_every_destination_moves_and_the_census_is_reported(store) -> None:
    keyvault = FakeKeyvault()
    report = rewrap_all(StoredDestinations(store), keyvault)
    assert (report.rewrapped, report.deleted, report.failed) == (3, 0, [])
    assert [sealed(store, f"d{n}") for n in range(3)] == [b"v1:0|v2", b"v1:1|v2", b"v1:2|v2"]
    assert report.reported and keyvault.finished == [(CENSUS_START, {2: 3})]


def test_replace_sealed_only_replaces_the_value_it_was_given(store) -> None:
    assert not store.replace_sealed("d0", b"something else", b"new")
    assert not store.replace_sealed("missing", b"v1:0", b"new")
    assert sealed(store, "d0") == b"v1:0"
    assert store.replace_sealed("d0", b"v1:0", b"new") and sealed(store, "d0") == b"new"


def test_a_destination_deleted_meanwhile_is_skipped_and_not_counted(store) -> None:
    keyvault = FakeKeyvault()
    keyvault.during = lambda d: store.delete("acct1", "d1") if d == "d1" else None
    report = rewrap_all(StoredDestinations(store), keyvault)
    assert (report.rewrapped, report.deleted, report.failed) == (2, 1, [])
    assert store.destinations.find_one({"_id": "d1"}) is None
    assert keyvault.finished == [(CENSUS_START, {2: 2})]


def test_a_destination_resealed_meanwhile_is_read_again_and_moved_once(store) -> None:
    keyvault = FakeKeyvault()
    resealed: list[str] = []

    def delivery_reseals(destination_id: str) -> None:
        if destination_id == "d2" and not resealed:
            resealed.append(destination_id)
            store.set_sealed("acct0", "d2", b"v2:fresh")

    keyvault.during = delivery_reseals
    report = rewrap_all(StoredDestinations(store), keyvault)
    # The delivery's value is what got moved, not the stale one read first.
    assert sealed(store, "d2") == b"v2:fresh|v2"
    assert (report.rewrapped, report.deleted, report.failed) == (3, 0, [])
    assert keyvault.calls == 4 and keyvault.finished == [(CENSUS_START, {2: 3})]


def test_a_keyvault_failure_leaves_the_census_unreported(store) -> None:
    keyvault = FakeKeyvault()
    keyvault.failing = {"d1"}
    report = rewrap_all(StoredDestinations(store), keyvault)
    assert report.failed == ["d1"] and report.rewrapped == 2 and not report.reported
    assert sealed(store, "d1") == b"v1:1" and keyvault.finished == []


def test_a_destination_that_keeps_changing_fails_after_bounded_attempts(store) -> None:
    keyvault = FakeKeyvault()
    keyvault.during = lambda d: (
        store.set_sealed("acct0", "d0", b"v2:again-%d" % keyvault.calls) if d == "d0" else None
    )
    report = rewrap_all(StoredDestinations(store), keyvault)
    assert report.failed == ["d0"] and not report.reported and keyvault.finished == []
    assert keyvault.calls == MAX_ATTEMPTS + 2  # d0's attempts, then d1 and d2 once each
