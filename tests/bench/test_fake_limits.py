"""The load bench's per-key rate limit (bench/fake_limits.py): what it admits, what it tells a
refused caller, and the evidence it keeps about callers that do not wait."""

from __future__ import annotations

from bench.fake_limits import KeyRateLimiter


def test_each_key_gets_its_limit_per_second_and_the_rest_are_told_to_wait_for_the_next() -> None:
    limiter = KeyRateLimiter(limit_per_s=3)
    answers = [limiter.admit("k1", 100.2) for _ in range(5)]
    assert answers[:3] == [None, None, None]
    assert answers[3:] == [1.0, 1.0]  # Retry-After: whole seconds, up to the next window
    assert limiter.admit("k2", 100.3) is None  # another key has its own window
    assert limiter.admit("k1", 101.3) is None  # the next second admits again
    report = limiter.report()
    assert report["max_admitted_per_key_per_s"] == 3 and report["max_attempted_per_key_per_s"] == 5
    # A key's requests come one after another in the stack (one running sync per key), so the
    # second refusal, in the same instant as the first, is a request that did not wait.
    assert report["requests_refused_429"] == 2 and report["retries_before_retry_after"] == 1


def test_a_caller_that_comes_back_before_its_retry_after_is_counted() -> None:
    limiter = KeyRateLimiter(limit_per_s=1)
    assert limiter.admit("k", 50.1) is None
    assert limiter.admit("k", 50.2) == 1.0  # come back at 51.2
    assert limiter.admit("k", 51.3) is None  # waited: admitted, nothing counted
    assert limiter.report()["retries_before_retry_after"] == 0
    assert limiter.admit("k", 51.4) == 1.0  # come back at 52.4
    limiter.admit("k", 51.9)  # did not wait
    assert limiter.report()["retries_before_retry_after"] == 1
