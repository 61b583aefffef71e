"""Figure: the stack under load (issue 18), three parts on the same stack.

1. Users: USERS signed-in users (each its own account, signed in with the browser's session
   cookie, one key on the bench fake whose backfill runs meanwhile, and a manual sync started
   every few seconds for one user after another, so syncs run the whole time) load the overview's
   API calls and the breakdown page's queries in a loop with 1-3 s of think time, for SECONDS.
   Reported: every error (there must be none), p50 and p99 per call.
2. Capacity: an open-loop step load of the same calls (round robin over the users' sessions) at
   rising rates until a step's p99 passes 1 s; the last rate that held is the stack's capacity on
   this machine, next to the same figure for GET /healthz (no session, no backend) as the baseline.
3. Fleet: ACCOUNTS accounts with 3 keys each, every key due at the same instant (bench.load_fleet
   says which accounts take the real API and which are written to the stores), the fake holding
   each key to its rate limit (429 + Retry-After): every scheduled sync must finish, once, within
   one sync interval; reported the time to drain the queue and the fake's most requests per key
   and second against its limit.
Peak memory (VmHWM) of every service process is read before and after, and VmRSS sampled while
the load runs. Knobs: BENCH_LOAD_QUICK=1 (or `python -m bench load --quick`) for a short run,
BENCH_LOAD_USERS, BENCH_LOAD_SECONDS, BENCH_LOAD_ACCOUNTS, BENCH_LOAD_STEP_SECONDS."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
import threading
import time
from pathlib import Path

import requests
from usage.config import DEFAULT_SYNC_INTERVAL_S

from bench import load_fleet, load_steps, load_users, stats
from bench.harness import Bench, peak_rss_mib, service_processes
from bench.report import CheckFailed, Figure, failed

# Sync workers per usage process (default 4). A sync mostly waits on the provider (here on its
# rate limit), so with a database that keeps up, threads bound the drain; at 1,000 accounts the
# embedded database's one process is the bound instead (README, Reading this run).
STACK_ENV = {"USAGE_SYNC_WORKERS": "8"}
API_RATES = (5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 130, 160, 200, 250, 300)
HEALTHZ_RATES = (50, 100, 200, 300, 400, 500, 650, 800, 1000, 1300, 1600, 2000)
SYNC_EVERY_S = 5.0


def settings() -> dict[str, float]:
    quick = os.environ.get("BENCH_LOAD_QUICK") == "1"
    env = os.environ.get
    return {
        "quick": quick,
        "users": int(env("BENCH_LOAD_USERS", "50")),
        "seconds": float(env("BENCH_LOAD_SECONDS", "60" if quick else "300")),
        "accounts": int(env("BENCH_LOAD_ACCOUNTS", "1000")),
        "step_s": float(env("BENCH_LOAD_STEP_SECONDS", "8" if quick else "20")),
    }


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class RssSampler:
    """The largest VmRSS seen per service while it runs (a sample every second)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.peaks: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            for name, pids in service_processes(self.bench.stack).items():
                for pid in pids:
                    rss = _vm(pid, "VmRSS:")
                    if rss is not None:
                        self.peaks[name] = max(self.peaks.get(name, 0.0), rss)

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _vm(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peaks(bench: Bench) -> dict[str, float]:
    found: dict[str, float] = {}
    for name, pids in service_processes(bench.stack).items():
        values = [v for v in (peak_rss_mib(pid) for pid in pids) if v is not None]
        if values:
            found[name] = round(max(values), 1)
    return found


def _users_part(bench: Bench, cfg: dict, users: list[load_users.User]) -> tuple[Figure, load_users.Outcomes]:
    today = dt.datetime.now(dt.UTC).date()
    calls = load_users.user_calls(today)
    outcomes = load_users.Outcomes()
    syncs = load_users.Outcomes()
    stop = threading.Event()
    syncer = threading.Thread(
        target=load_users.keep_syncing, args=(users, stop, SYNC_EVERY_S, syncs), daemon=True
    )
    stop_at = time.monotonic() + cfg["seconds"]
    threads = [
        threading.Thread(target=load_users.browse, args=(u, calls, stop_at, outcomes, i), daemon=True)
        for i, u in enumerate(users)
    ]
    syncer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    syncer.join()
    everything = [s for values in outcomes.latencies.values() for s in values]
    per_call = {
        name: {
            "n": len(values),
            "p50_ms": round(stats.median(values) * 1000, 1),
            "p99_ms": round(stats.percentile(values, 99) * 1000, 1),
        }
        for name, values in outcomes.latencies.items()
    }
    errors = outcomes.errors + syncs.errors
    for error in errors[:20]:
        progress(f"load error: {error}")
    runs = bench.mongo["aicosts_usage"]["sync_runs"]
    ids = [u.credential_id for u in users]
    sync_statuses: dict[str, int] = {}
    for run in runs.find({"credential_id": {"$in": ids}}, {"status": 1}):
        sync_statuses[run["status"]] = sync_statuses.get(run["status"], 0) + 1
    figure = Figure(
        f"load_users_{len(users)}_{int(cfg['seconds'])}s",
        round(len(everything) / cfg["seconds"], 1),
        "req/s",
        p50_ms=stats.median(everything) * 1000,
        p99_ms=stats.percentile(everything, 99) * 1000,
        samples=len(everything),
        higher_is_better=True,
        checked=not errors,
        extra={
            "errors": len(errors),
            "sign_in_503_then_retried": len(load_users.SIGN_IN_BUSY),
            "gets_resent_after_keepalive_close": len(load_users.KEEPALIVE_RETRIES),
            "error_examples": errors[:10],
            "manual_syncs_started": len(syncs.latencies.get("POST /v1/credentials/{id}/sync", [])),
            "users_sync_runs_by_status_at_the_end": sync_statuses,
            "think_s": list(load_users.THINK_S),
            "per_call": per_call,
        },
    )
    return figure, outcomes


def _capacity(bench: Bench, cfg: dict, users: list[load_users.User]) -> list[Figure]:
    calls = load_users.user_calls(dt.datetime.now(dt.UTC).date())
    plan = list(itertools.product(range(len(users)), range(len(calls))))

    def api(i: int) -> int:
        user_index, call_index = plan[i % len(plan)]
        _, path, params = calls[call_index]
        user = users[user_index]
        return user.session.get(f"{bench.base_url}{path}", params=params, timeout=30).status_code

    health = [requests.Session() for _ in range(load_steps.SENDER_THREADS)]

    def healthz(i: int) -> int:
        return health[i % len(health)].get(f"{bench.base_url}/healthz", timeout=30).status_code

    progress("load: step load of the users' calls")
    api_capacity, api_steps = load_steps.find_capacity(api, API_RATES, cfg["step_s"], progress)
    progress("load: step load of GET /healthz")
    base_capacity, base_steps = load_steps.find_capacity(healthz, HEALTHZ_RATES, cfg["step_s"], progress)
    if api_capacity is None:
        raise CheckFailed(f"p99 over 1 s already at {API_RATES[0]} req/s")
    return [
        Figure(
            "load_capacity_p99_1s",
            float(api_capacity),
            "req/s",
            baseline=float(base_capacity) if base_capacity else None,
            baseline_name="GET /healthz at the same p99 limit (no session, no backend call)",
            higher_is_better=True,
            samples=sum(s.sent for s in api_steps),
            extra={
                "step_s": cfg["step_s"],
                "steps": [s.as_dict() for s in api_steps],
                "healthz_steps": [s.as_dict() for s in base_steps],
                "healthz_capacity_capped_by_rates": base_capacity == HEALTHZ_RATES[-1],
                "mix": "the overview's and the breakdown's calls, round robin over the users' sessions",
            },
        )
    ]


def _fleet(bench: Bench, cfg: dict) -> Figure:
    interval = float(os.environ.get("USAGE_SYNC_INTERVAL_SECONDS", DEFAULT_SYNC_INTERVAL_S))
    before = bench.fake_limits.report() if bench.fake_limits else {}
    fleet = load_fleet.seed(bench, int(cfg["accounts"]), progress)
    progress(f"fleet: {len(fleet.keys)} keys ready after {fleet.seed_s:.0f}s; all due now")
    drained = load_fleet.schedule_and_drain(bench, fleet, interval, deadline_s=interval, progress=progress)
    limits = bench.fake_limits.report() if bench.fake_limits else {}
    ok = (
        drained["runs"] == drained["keys"]
        and drained["keys_synced_twice"] == 0
        and drained["statuses"].get("succeeded", 0) == drained["keys"]
        and drained["within_interval"]
        and limits.get("max_admitted_per_key_per_s", 0) <= limits.get("limit_per_key_per_s", 0)
        and limits.get("retries_before_retry_after", 0) == before.get("retries_before_retry_after", 0)
    )
    return Figure(
        f"load_fleet_{int(cfg['accounts'])}x3_drain",
        drained["drain_s"],
        "s",
        baseline=interval,
        baseline_name="the sync interval (every key's sync must finish within one)",
        samples=drained["runs"],
        checked=ok,
        extra={
            **drained,
            "accounts_via_api": fleet.via_api,
            "accounts_via_stores": fleet.via_stores,
            "seed_s": round(fleet.seed_s, 1),
            "reconciler_backfills": fleet.reconciler_backfills,
            "provider_limits": limits,
        },
    )


def run(bench: Bench) -> list[Figure]:
    cfg = settings()
    load_before = os.getloadavg()  # the machine is shared: say how busy it was
    progress(f"load: {cfg}, load average {load_before[0]:.1f}")
    at_start = peaks(bench)
    with RssSampler(bench) as sampler:
        progress(f"load: signing in {cfg['users']} users")
        users = load_users.sign_in_all(bench, int(cfg["users"]))
        progress(f"load: {cfg['users']} users for {cfg['seconds']:.0f}s")
        users_figure, _ = _users_part(bench, cfg, users)
        figures = [users_figure]
        # Each part reports on its own: a failure in one (a stack process gone) keeps the others.
        for name, part in (
            ("load_capacity", lambda: _capacity(bench, cfg, users)),
            ("load_fleet", lambda: [_fleet(bench, cfg)]),
        ):
            try:
                figures += part()
            except Exception as exc:
                figures.append(failed(name, exc))
    after = peaks(bench)
    load_after = os.getloadavg()
    progress(f"load: load average {load_after[0]:.1f} at the end")
    for figure in figures:
        figure.extra["load_average_1m_start_end"] = [round(load_before[0], 1), round(load_after[0], 1)]
    for name in sorted(after):
        figures.append(
            Figure(
                f"load_memory_peak_{name}",
                after[name],
                "MiB",
                baseline=at_start.get(name),
                baseline_name="the same process's peak before the load figure",
                samples=1,
                extra={"max_rss_sampled_during_load_mib": round(sampler.peaks.get(name, 0.0), 1)},
            )
        )
    return figures
