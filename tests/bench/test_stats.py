"""bench/stats.py: the percentile definition every benchmark figure uses (no benchmark runs here)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, where bench/ lives

from bench import stats  # noqa: E402


def test_percentiles_interpolate_between_closest_ranks() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted on purpose
    assert stats.percentile(samples, 0) == 1.0
    assert stats.percentile(samples, 50) == 3.0
    assert stats.percentile(samples, 100) == 5.0
    assert stats.percentile(samples, 25) == 2.0
    assert stats.percentile(samples, 99) == pytest.approx(4.96)  # numpy's default gives the same
    assert stats.median([1.0, 2.0, 3.0, 10.0]) == 2.5


def test_one_sample_is_every_percentile_and_nonsense_is_refused() -> None:
    assert stats.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_closed_loop_counts_successes_and_errors_apart() -> None:
    flips = itertools.cycle([True, False])
    load = stats.closed_loop(lambda: lambda: next(flips), workers=1, duration_s=0.05, warmup_s=0.0)
    assert load.ops > 0 and load.errors > 0
    assert abs(load.ops - load.errors) <= 1
    assert len(load.latencies_s) == load.ops + load.errors


def test_closed_loop_counts_a_raising_operation_as_an_error() -> None:
    def boom() -> bool:
        raise RuntimeError("down")

    load = stats.closed_loop(lambda: boom, workers=2, duration_s=0.02, warmup_s=0.0)
    assert load.ops == 0 and load.errors > 0
