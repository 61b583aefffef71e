"""A chaos suite's own local stack: the embedded database and every service as separate
processes this suite owns (not honcho, which stops everything when one process dies), so a
scenario can kill -9 one of them and start it again, as Kubernetes would restart a pod."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from devstack.__main__ import stack_env
from devstack.launcher import stack_ports_and_env
from support import processes

SERVICES = ("auth", "keyvault", "usage", "parser", "gateway")
REPO_ROOT = Path(__file__).resolve().parents[2]
# The processes run this checkout's code, whichever checkout the virtualenv was installed from.
SOURCE_DIRS = [
    *(f"services/{s}" for s in ("common", "auth", "keyvault", "usage", "parser", "gateway")),
    "proto",
]
READY_TIMEOUT_S = 90


@dataclass
class ChaosStack:
    var_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "logs"

    # --- processes -------------------------------------------------------------------------

    def start(self, name: str) -> None:
        env = dict(self.env)
        if name == "db":
            argv = [sys.executable, "-m", "devstack.db", "--port", env["DEVDB_PORT"]]
            argv += ["--path", str(self.var_dir / "db")]
        elif name == "gateway":
            self.procs[name] = processes.start_gateway(env, self.log_dir)
            return
        else:
            argv = [sys.executable, "-m", name]
            if name == "keyvault":  # as the Procfile: the keyring file goes to keyvault alone
                env["KEYVAULT_KEYRING_FILE"] = str(self.var_dir / "secrets/keyvault/keyring.json")
        self.procs[name] = processes.start(name, argv, env, self.log_dir)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (gunicorn's workers too) and wait for it to exit."""
        process = self.procs[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(30)
        _wait_group_gone(process.pid)

    def start_all(self) -> None:
        self.start("db")
        _wait_port(self.ports["devdb"])
        for name in SERVICES:
            self.start(name)

    def stop_all(self) -> None:
        running = [p for p in self.procs.values() if p.poll() is None]
        processes.stop(running)

    # --- readiness -------------------------------------------------------------------------

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        started = time.monotonic()
        while not self.ready():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited:\n{processes.logs(self.log_dir)[-4000:]}")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"not ready in {timeout_s}s:\n{processes.logs(self.log_dir)[-4000:]}")
            time.sleep(0.2)
        return time.monotonic() - started

    def logs(self) -> str:
        return processes.logs(self.log_dir)


def _wait_port(port: int, timeout_s: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout_s}s")


def _wait_group_gone(pgid: int, timeout_s: float = 10) -> None:
    """A killed gunicorn master's workers die with the group; wait until none is left."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def make_chaos_stack(var_dir: Path, extra_env: dict[str, str]) -> ChaosStack:
    ports, base = stack_ports_and_env(var_dir, extra_env)
    base["PYTHONPATH"] = os.pathsep.join(str(REPO_ROOT / d) for d in SOURCE_DIRS)
    var_dir.mkdir(parents=True, exist_ok=True)
    env = stack_env(base)
    stack = ChaosStack(var_dir=var_dir, env=env, ports=ports)
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    return stack
