"""bcrypt work takes turns (auth.hashing): a sign-in burst finishes one after another instead of
all late together, and a computation that cannot get a turn in time is refused before any work."""

from __future__ import annotations

import threading

import pytest
from auth.hashing import BUSY, PasswordHasher
from svccommon.errors import Unavailable
from testkit.waiting import wait_until

PASSWORD = "correct horse battery staple"


def test_a_computation_without_a_free_slot_is_refused_before_any_bcrypt_work() -> None:
    hasher = PasswordHasher(10, slots=1, wait_s=0.05)
    stored = hasher.hash(PASSWORD)
    with hasher.slot():  # another sign-in is using the only slot
        attempts = (lambda: hasher.verify(PASSWORD, stored), hasher.dummy_verify, lambda: hasher.hash("x"))
        for attempt in attempts:
            with pytest.raises(Unavailable, match=BUSY):
                attempt()
    assert hasher.calls["refused_busy"] == 3
    assert hasher.bcrypt_checks == 1  # only the first hash: the refused ones did no work
    assert hasher.verify(PASSWORD, stored)  # the slot is free again


def test_computations_beyond_the_slots_wait_their_turn_instead_of_running_together() -> None:
    hasher = PasswordHasher(10, slots=1, wait_s=30)
    stored = hasher.hash(PASSWORD)
    started = threading.Event()
    results: list[bool] = []
    with hasher.slot():

        def sign_in() -> None:
            started.set()
            results.append(hasher.verify(PASSWORD, stored))

        waiter = threading.Thread(target=sign_in)
        waiter.start()
        assert started.wait(5)
        # While the slot is held the waiting verification has done no bcrypt work at all.
        assert hasher.calls["verify"] == 0
    wait_until(lambda: results == [True], timeout_s=30, what="the waiting sign-in, slot freed")
    waiter.join(5)
    assert hasher.calls["verify"] == 1 and hasher.calls["refused_busy"] == 0


def test_the_default_is_one_slot_per_core() -> None:
    from auth.hashing import available_cores

    hasher = PasswordHasher(10)
    held = [hasher._slots.acquire(blocking=False) for _ in range(available_cores())]
    assert all(held)
    assert not hasher._slots.acquire(blocking=False)
