"""Two usage replicas running the scheduler on one database: every key is queued once per interval,
never by both. Each replica is a SyncEngine of its own (its own owner id, as two processes have),
and their housekeeping passes run at the same moments from two threads."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from usage.engine import SyncEngine

INTERVAL_S = 3600
KEYS = 30


def replica(harness: Any) -> SyncEngine:
    return SyncEngine(
        harness.runs,
        lambda owner, stopping: harness.job(stopping, owner),
        workers=1,
        interval_s=INTERVAL_S,
        stale_s=300,
        clock=harness.clock,
    )


def passes(engine: SyncEngine, name: str, start: threading.Barrier, enqueued: dict[str, int]) -> None:
    start.wait()  # both replicas look at the same due targets at the same moment
    enqueued[name] = sum(engine.housekeeping_pass() for _ in range(5))


def test_two_schedulers_queue_every_key_once_per_interval_never_both(harness: Any) -> None:
    credentials = [f"{i:032x}" for i in range(KEYS)]
    for credential in credentials:
        harness.runs.targets.register(harness.account, credential, "openai", harness.clock(), harness.clock())
    first, second = replica(harness), replica(harness)
    assert first.owner != second.owner
    for interval in range(4):
        enqueued: dict[str, int] = {}
        start = threading.Barrier(2)

        threads = [
            threading.Thread(target=passes, args=(engine, name, start, enqueued))
            for engine, name in ((first, "first"), (second, "second"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        queued = list(harness.runs.runs.find({"status": "queued"}))
        assert sum(enqueued.values()) == KEYS == len(queued), (interval, enqueued)
        per_key = Counter(run["credential_id"] for run in queued)
        assert set(per_key) == set(credentials) and set(per_key.values()) == {1}, interval
        # Workers on either replica: each run is claimed by exactly one of them.
        owners: Counter[str] = Counter()
        for run_number in range(KEYS):
            engine = (first, second)[run_number % 2]
            claimed = harness.runs.claim(engine.owner, harness.clock())
            assert claimed is not None
            owners[claimed["owner"]] += 1
            assert harness.runs.finish(claimed["_id"], engine.owner, "succeeded", "", harness.clock())
            assert not harness.runs.finish(
                claimed["_id"], (second, first)[run_number % 2].owner, "failed", "x", harness.clock()
            )
        assert harness.runs.claim(first.owner, harness.clock()) is None
        assert sum(owners.values()) == KEYS
        # Within the interval nothing is due again, on either replica.
        harness.clock.advance(seconds=INTERVAL_S - 1)
        assert first.housekeeping_pass() == second.housekeeping_pass() == 0
        harness.clock.advance(seconds=1)
    total = Counter(run["credential_id"] for run in harness.runs.runs.find({"reason": "scheduled"}))
    assert set(total.values()) == {4}
