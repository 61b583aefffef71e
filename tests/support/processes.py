"""Extra service processes for tests that need more than the session stack (a second replica,
a differently configured gateway), started with the environment `make run` gives every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


def start(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    """Run ``argv`` in its own process group, its output in ``log_dir/<name>.log``."""
    log = (log_dir / f"{name}.log").open("wb")
    return subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(processes: Sequence[subprocess.Popen], signals: Sequence[int] | None = None) -> None:
    """Signal each process group (SIGTERM unless told), then wait; SIGKILL whatever hangs."""
    for process, sig in zip(processes, signals or [signal.SIGTERM] * len(processes), strict=True):
        if process.poll() is None:
            os.killpg(process.pid, sig)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def logs(log_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(log_dir.glob("*.log")))


GATEWAY_ARGV = ["-c", "python:gateway.gunicorn_conf", "gateway:create_app()"]


def start_gateway(env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    """One more gateway (gunicorn, as `make run` starts it); stop it with SIGQUIT, its quick exit."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return start("gateway", [gunicorn, *GATEWAY_ARGV], env, log_dir)


def wait_ready(
    base_url: str,
    started: Sequence[subprocess.Popen],
    log_dir: Path,
    timeout_s: float = 60,
    verify: str | bool = True,
) -> None:
    """Until the gateway at ``base_url`` answers /readyz 200; fails early if a process exits.
    verify: the CA file for an HTTPS gateway."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in started):
            raise RuntimeError(f"a process exited early:\n{logs(log_dir)[-4000:]}")
        try:
            if requests.get(f"{base_url}/readyz", timeout=2, verify=verify).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{base_url} was not ready in {timeout_s}s:\n{logs(log_dir)[-4000:]}")
