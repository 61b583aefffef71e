"""Figure 6: peak resident memory (VmHWM) of every service process after the other figures,
next to the same peak taken when the stack had just become ready (before any figure ran).
The gateway's figure is the largest of its gunicorn processes (master and workers)."""

from __future__ import annotations

from bench.harness import Bench, peak_rss_mib, service_processes
from bench.report import Figure, check

SERVICES = ("gateway", "auth", "keyvault", "usage", "parser", "devdb")


def snapshot(bench: Bench) -> dict[str, float]:
    """Service name -> the largest VmHWM among its processes, in MiB."""
    peaks: dict[str, float] = {}
    for name, pids in service_processes(bench.stack).items():
        values = [v for v in (peak_rss_mib(pid) for pid in pids) if v is not None]
        if values:
            peaks[name] = max(values)
    return peaks


def run(bench: Bench, at_start: dict[str, float]) -> list[Figure]:
    now = snapshot(bench)
    counts = {name: len(pids) for name, pids in service_processes(bench.stack).items()}
    expected = [s for s in SERVICES if s != "devdb" or bench.embedded_db]
    missing = [s for s in expected if s not in now]
    check(not missing, f"no running process found for {', '.join(missing)}")
    return [
        Figure(
            f"memory_peak_{name}",
            now[name],
            "MiB",
            baseline=at_start.get(name),
            baseline_name="the same process's peak when the stack had just become ready",
            samples=1,
            extra={"processes": counts.get(name, 0)},
        )
        for name in expected
    ]
