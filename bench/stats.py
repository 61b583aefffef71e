"""Medians, percentiles and timing loops for the benchmarks (no timing assertions anywhere)."""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


def median(samples: Sequence[float]) -> float:
    if not samples:
        raise ValueError("no samples")
    return float(statistics.median(samples))


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) by linear interpolation between closest ranks,
    the same definition as numpy's default; with few samples p99 is close to the maximum."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def time_call(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def repeat(call: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Seconds per run of `call`, after `warmup` untimed runs."""
    for _ in range(warmup):
        call()
    return [time_call(call) for _ in range(runs)]


def paired(
    measured: Callable[[], object],
    baseline: Callable[[], object],
    *,
    min_runs: int,
    max_runs: int,
    budget_s: float,
) -> tuple[list[float], list[float]]:
    """Seconds per run of both, interleaved (drift on a noisy machine hits both alike), after one
    untimed warm-up of each: at least min_runs pairs, then more while budget_s lasts, up to
    max_runs. A fast database gets many runs (a real p99); a slow one the minimum."""
    measured()
    baseline()
    ours: list[float] = []
    theirs: list[float] = []
    started = time.perf_counter()
    while len(ours) < max_runs and (len(ours) < min_runs or time.perf_counter() - started < budget_s):
        ours.append(time_call(measured))
        theirs.append(time_call(baseline))
    return ours, theirs


@dataclass(frozen=True)
class Load:
    """What a fixed-duration closed-loop load produced."""

    ops: int
    errors: int
    seconds: float
    latencies_s: list[float]

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def p50_ms(self) -> float:
        return median(self.latencies_s) * 1000

    def p99_ms(self) -> float:
        return percentile(self.latencies_s, 99) * 1000


def closed_loop(
    make_worker: Callable[[], Callable[[], bool]], workers: int, duration_s: float, warmup_s: float = 0.5
) -> Load:
    """`workers` threads, each calling its own operation back to back for `duration_s` after an
    untimed warm-up; an operation returns False (or raises) for an error. Only successful
    operations count toward the rate; latencies are of every timed operation."""
    calls = [make_worker() for _ in range(workers)]
    start_at = time.perf_counter() + warmup_s
    stop_at = start_at + duration_s
    lock = threading.Lock()
    totals = {"ops": 0, "errors": 0}
    latencies: list[float] = []
    last_end = [start_at]

    def run(call: Callable[[], bool]) -> None:
        ok_count = errors = 0
        mine: list[float] = []
        ended = start_at
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                break
            try:
                ok = call()
            except Exception:
                ok = False
            ended = time.perf_counter()
            if began < start_at:
                continue  # warm-up: connections, caches, JIT-free but pool-filling
            mine.append(ended - began)
            if ok:
                ok_count += 1
            else:
                errors += 1
        with lock:
            totals["ops"] += ok_count
            totals["errors"] += errors
            latencies.extend(mine)
            last_end[0] = max(last_end[0], ended)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run, c) for c in calls]:
            future.result()
    # The window ends when the last operation started before stop_at has returned.
    return Load(totals["ops"], totals["errors"], last_end[0] - start_at, latencies)
