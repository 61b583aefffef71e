"""Open-loop step load: requests sent at a fixed rate whatever the answers do (a closed loop would
slow down with the server and hide its queue), one step of rates after another, until the p99
latency of a step passes the limit. Latency counts from the moment a request was due, not from
when a thread got round to sending it, so a client that falls behind shows up as latency too
(no coordinated omission). The capacity is the highest rate whose step stayed within the limit
with every request answered 200 and the rate actually reached."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench import stats

SENDER_THREADS = 128  # at 1 s per answer this sustains 128 req/s in flight; more only adds GIL contention
P99_LIMIT_S = 1.0
REACHED = 0.95  # a step counts only if at least this share of its requests was sent on time


@dataclass(frozen=True)
class Step:
    rate: float
    sent: int
    errors: int
    p50_ms: float
    p99_ms: float
    achieved_per_s: float
    late_sends: int  # requests a free thread picked up more than 100 ms after they were due
    error_kinds: dict[str, int]  # HTTP status or exception name -> count

    @property
    def within(self) -> bool:
        return (
            self.errors == 0
            and self.p99_ms <= P99_LIMIT_S * 1000
            and self.achieved_per_s >= REACHED * self.rate
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "rate": self.rate,
            "sent": self.sent,
            "errors": self.errors,
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "achieved_per_s": round(self.achieved_per_s, 1),
            "late_sends": self.late_sends,
            "error_kinds": self.error_kinds,
        }


def one_step(send: Callable[[int], int], rate: float, seconds: float, pool: ThreadPoolExecutor) -> Step:
    """`send(i)` performs request i and returns its HTTP status (200 expected)."""
    count = max(1, int(rate * seconds))
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    late = [0]
    lock = threading.Lock()
    started = time.perf_counter() + 0.05

    def fire(i: int, due: float) -> None:
        picked = time.perf_counter()
        try:
            status = str(send(i))
        except Exception as exc:
            status = type(exc).__name__
        ended = time.perf_counter()
        with lock:
            latencies.append(ended - due)
            if status != "200":
                kinds[status] += 1
            if picked - due > 0.1:
                late[0] += 1

    futures = []
    for i in range(count):
        due = started + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        futures.append(pool.submit(fire, i, due))
    sending_s = time.perf_counter() - started  # what the sends took: seconds, unless we fell behind
    for future in futures:
        future.result()
    return Step(
        rate=rate,
        sent=count,
        errors=sum(kinds.values()),
        p50_ms=stats.median(latencies) * 1000,
        p99_ms=stats.percentile(latencies, 99) * 1000,
        achieved_per_s=count / max(sending_s, count / rate),
        late_sends=late[0],
        error_kinds=dict(kinds),
    )


def find_capacity(
    send: Callable[[int], int], rates: Sequence[float], seconds: float, progress: Callable[[str], None]
) -> tuple[float | None, list[Step]]:
    """Steps up through `rates` until one fails twice in a row (a failed step is run once more: on a
    shared machine one step can catch another process's burst); the last rate that held (None: not
    even the first)."""
    steps: list[Step] = []
    capacity = None
    with ThreadPoolExecutor(SENDER_THREADS) as pool:
        for rate in rates:
            for _attempt in range(2):
                step = one_step(send, rate, seconds, pool)
                steps.append(step)
                progress(
                    f"  {rate:g} req/s: p50 {step.p50_ms:.0f} ms, p99 {step.p99_ms:.0f} ms, "
                    f"{step.errors} errors {step.error_kinds or ''}"
                )
                if step.within:
                    break
            if not step.within:
                break
            capacity = rate
    return capacity, steps
