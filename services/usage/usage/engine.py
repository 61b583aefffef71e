"""Background work inside the usage service: sync workers and the housekeeping loop.

- Workers claim queued runs from Mongo (any replica may) and execute them one at a time.
- A provider that hangs or throttles holds a worker until its timeouts and retries run out, so no
  provider may hold every worker of a process (at most workers - 1), and one account's keys of
  one provider are synced one at a time (they share the provider's fate and its rate limit): the
  other providers, and other accounts, keep being synced meanwhile.
- Housekeeping, every few seconds: heartbeat this process's running runs, queue again the
  runs of processes that died (stale heartbeat), and enqueue scheduled syncs for targets
  that are due (every USAGE_SYNC_INTERVAL_SECONDS; 0 turns scheduling off).
- stop() lets workers finish the day they are on, then gives unfinished runs back to the
  queue so another process (or this one after a restart) continues them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from usage.runstore import RunStore
from usage.scheduling import scheduled_range
from usage.syncjob import SyncJob

log = logging.getLogger(__name__)

IDLE_POLL_S = 2.0  # a worker with nothing to do looks again this often (or when woken)
ERROR_PAUSE_S = 5.0


class SyncEngine:
    def __init__(
        self,
        runs: RunStore,
        make_job: Callable[[str, Callable[[], bool]], SyncJob],
        *,
        workers: int,
        interval_s: int,
        stale_s: int,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.runs = runs
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.job = make_job(self.owner, self._stop.is_set)
        self.workers = workers
        self.interval = dt.timedelta(seconds=interval_s)
        self.stale = dt.timedelta(seconds=stale_s)
        self.clock = clock
        self.tick_s = max(0.5, min(30.0, stale_s / 4, interval_s / 10 if interval_s else 30.0))
        self._threads: list[threading.Thread] = []
        self._running: dict[str, tuple[str, str, str]] = {}  # worker -> (run id, account, platform)
        self._lock = threading.Lock()  # also held across a claim, so the caps below hold exactly
        self.platform_cap = max(1, workers - 1)

    def start(self) -> None:
        for i in range(self.workers):
            self._spawn(f"sync-worker-{i}", self._work)
        self._spawn("sync-housekeeping", self._housekeep)
        log.info(
            "sync engine started",
            extra={"workers": self.workers, "interval_s": self.interval.total_seconds()},
        )

    def wake(self) -> None:
        """A run was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s / max(1, len(self._threads)))
        with self._lock:
            unfinished = [run_id for run_id, _, _ in self._running.values()]
        if unfinished:
            released = self.runs.release(unfinished, self.owner)
            log.info("sync runs given back to the queue", extra={"runs": released})

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        name = threading.current_thread().name
        while not self._stop.is_set():
            try:
                run = self._claim(name)
            except Exception as exc:  # the database is away: wait, then try again
                log.error("claiming a sync run failed", extra={"error_type": type(exc).__name__})
                self._stop.wait(ERROR_PAUSE_S)
                continue
            if run is None:
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()
                continue
            try:
                self.job.execute(run)
            finally:
                with self._lock:
                    self._running.pop(name, None)

    def _claim(self, name: str) -> dict | None:
        """The next run this worker may take: none of a platform already on `platform_cap` of this
        process's workers, nor of an (account, platform) already being synced here."""
        with self._lock:
            busy = list(self._running.values())
            per_platform: dict[str, int] = {}
            for _, _, platform in busy:
                per_platform[platform] = per_platform.get(platform, 0) + 1
            full = {p for p, n in per_platform.items() if n >= self.platform_cap}
            pairs = {(account, platform) for _, account, platform in busy}
            run = self.runs.claim(self.owner, self.clock(), skip_platforms=full, skip_account_platforms=pairs)
            if run is not None:
                self._running[name] = (run["_id"], run["account_id"], run["platform"])
            return run

    def _housekeep(self) -> None:
        while not self._stop.is_set():
            try:
                self.housekeeping_pass()
            except Exception as exc:
                log.error("sync housekeeping failed", extra={"error_type": type(exc).__name__})
            self._stop.wait(self.tick_s)

    def housekeeping_pass(self) -> int:
        """Heartbeat, recover dead workers' runs, enqueue due scheduled syncs; returns runs enqueued."""
        now = self.clock()
        self.runs.heartbeat(self.owner, now)
        requeued, failed = self.runs.requeue_stale(now - self.stale, now)
        if requeued or failed:
            log.warning("recovered runs of a stopped worker", extra={"requeued": requeued, "failed": failed})
            self.wake()
        if not self.interval:
            return 0
        enqueued = 0
        while (target := self.runs.targets.claim_due(now, self.interval)) is not None:
            account_id, credential_id = target["account_id"], target["credential_id"]
            if self.runs.active_run(account_id, credential_id) is not None:
                continue  # already queued or running: that run covers it
            first, last = scheduled_range(target, now.date())
            self.runs.enqueue(account_id, credential_id, target["platform"], "scheduled", first, last, now)
            enqueued += 1
        if enqueued:
            self.wake()
        return enqueued
