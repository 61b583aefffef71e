"""python -m bench [figure ...]  (make bench runs them all)

Starts one whole stack exactly as `make run` does (its own temporary folder and free ports; the
embedded database unless BENCH_MONGODB_URI names a throwaway MongoDB), runs the chosen figures,
prints one JSON line per figure (after a first line describing the run), then a table.
Figures: summary ingest keyvault gateway parser auth web alerts alert_latency load memory. Exit
status 1 if a figure's own answer check failed (its figure is then not a measurement).
--quick: the load figure's short form (60 s of users, 8 s steps; see bench/fig_load.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import (
    auth_enumeration,
    fake_openai,
    fig_alert_latency,
    fig_alerts,
    fig_auth,
    fig_gateway,
    fig_ingest,
    fig_keyvault,
    fig_load,
    fig_memory,
    fig_parser,
    fig_summary,
    fig_web,
    harness,
)
from bench.report import Figure, failed, table

FIGURES: dict[str, Callable[[harness.Bench], list[Figure]]] = {
    "summary": fig_summary.run,
    "ingest": fig_ingest.run,
    "keyvault": fig_keyvault.run,
    "gateway": fig_gateway.run,
    "parser": fig_parser.run,
    "auth": fig_auth.run,
    "web": fig_web.run,
    "alerts": fig_alerts.run,
    "alert_latency": fig_alert_latency.run,
    "load": fig_load.run,
}
ORDER = (*FIGURES, "memory")
WITHOUT_STACK = ("parser", "alerts")  # in-process figures: they ignore the stack
EMBEDDED_NOTE = (
    "embedded SecantusDB (the default of make run): much slower than a real MongoDB, so the "
    "database-bound figures are lower bounds; compare ratios, not absolute numbers"
)


def machine() -> dict[str, object]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        "?",
    )
    mem_kib = next(
        (int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), 0
    )
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def emit(figures: list[Figure], new: list[Figure]) -> None:
    for figure in new:
        print(figure.as_json(), flush=True)
    figures.extend(new)


def main(argv: list[str]) -> int:
    chosen = [a for a in argv if not a.startswith("-")] or list(ORDER)
    unknown = [a for a in chosen if a not in ORDER]
    if unknown or "-h" in argv or "--help" in argv:
        print(__doc__)
        return 2 if unknown else 0
    chosen = [name for name in ORDER if name in chosen]
    if "--quick" in argv:
        os.environ["BENCH_LOAD_QUICK"] = "1"
    needs_stack = any(name not in WITHOUT_STACK for name in chosen)
    started = time.monotonic()
    db = "external MongoDB" if os.environ.get(harness.MONGODB_URI_ENV) else EMBEDDED_NOTE
    run_info = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine()}
    # What the bench stack runs with beyond make run's defaults (the fake provider's URL aside).
    settings = {
        **auth_enumeration.BENCH_ENV,
        **fig_summary.STACK_ENV,
        **fig_alert_latency.STACK_ENV,
        **fig_load.STACK_ENV,
    }
    print(
        json.dumps({"run": {**run_info, "database": db, "stack_env": settings, "figures": chosen}}),
        flush=True,
    )
    figures: list[Figure] = []
    if not needs_stack:
        for name in chosen:
            emit(figures, _one(name, lambda name=name: FIGURES[name](None)))
        return _finish(figures, started, db)
    fake = fake_openai.FakeOpenAI().start()
    env = {**settings, "PROVIDER_BASE_URL_OPENAI": fake.url}
    with tempfile.TemporaryDirectory(prefix="aicosts-bench-") as tmp:
        progress("starting the stack (make run's code path)")
        stack, mongo, embedded = harness.start(Path(tmp) / "var", env)
        bench = harness.Bench(stack, mongo, embedded, fake.url, fake.limiter)
        try:
            at_start = fig_memory.snapshot(bench)
            progress(f"stack ready after {time.monotonic() - started:.0f}s")
            for name in chosen:
                if name == "memory":
                    new = _one(name, lambda: fig_memory.run(bench, at_start))
                else:
                    new = _one(name, lambda name=name: FIGURES[name](bench))
                emit(figures, new)
                if not all(f.checked for f in new):
                    _show_errors(stack.log_text())
        finally:
            stack.stop()
            mongo.close()
            fake.stop()
            if not all(f.checked for f in figures):  # keep the evidence; the folder goes away
                kept = Path(tempfile.gettempdir()) / "aicosts-bench-stack.log"
                kept.write_text(stack.log_text())
                progress(f"the stack's whole log is in {kept}")
    return _finish(figures, started, db)


def _one(name: str, run: Callable[[], list[Figure]]) -> list[Figure]:
    began = time.monotonic()
    progress(f"{name} ...")
    try:
        result = run()
    except Exception as exc:  # a failed check or a broken path: reported, the others still run
        result = [failed(name, exc)]
    progress(f"{name} done in {time.monotonic() - began:.0f}s")
    return result


def _show_errors(log: str, lines: int = 15) -> None:
    """The stack's last error lines, to tell why a figure failed (the stack's folder is temporary)."""
    marks = ('"ERROR"', '"WARNING"', "Traceback", "Error")
    errors = [line for line in log.splitlines() if any(mark in line for mark in marks)]
    for line in errors[-lines:]:
        progress(f"stack log: {line[:400]}")


def _finish(figures: list[Figure], started: float, db: str) -> int:
    print()
    print(table(figures))
    print()
    print("ratio: how many times the baseline is better (time / baseline time, or baseline rate / rate);")
    print("1.00x = no overhead over the baseline. Baselines:")
    legend: dict[str, list[str]] = {}
    for figure in figures:
        if figure.baseline_name:
            legend.setdefault(figure.baseline_name, []).append(figure.figure)
    for baseline, names in legend.items():
        print(f"  {', '.join(names)}: {baseline}")
    print(f"database: {db}")
    print(f"total {time.monotonic() - started:.0f}s")
    return 0 if all(f.checked for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
