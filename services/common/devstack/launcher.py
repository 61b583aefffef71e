"""Start a whole local stack exactly as `make run` does (python -m devstack run), on free
ports, in its own state folder, with its output captured: used by the tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parents[3]
READY_TIMEOUT_S = 90


@dataclass
class Stack:
    var_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    base_url: str = ""
    ports: dict[str, int] = field(default_factory=dict)

    def start(self) -> Stack:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal session
        )
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"stack exited early:\n{self.log_text()[-4000:]}")
            try:
                if requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"stack not ready in {timeout_s}s:\n{self.log_text()[-4000:]}")

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 30) -> int:
        """Ctrl-C to the whole process group, as a terminal would send it."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def leftover_pids(self) -> list[int]:
        """Processes still carrying this stack's state folder in their environment."""
        marker = f"AICOSTS_VAR_DIR={self.var_dir}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
        return found


def stack_ports_and_env(
    var_dir: Path, extra_env: dict[str, str] | None = None
) -> tuple[dict[str, int], dict[str, str]]:
    """Free ports for every process of a stack, and the environment that names them: this
    process's own, minus any stack settings it carries, plus `extra_env`."""
    names = ["gateway", "auth", "keyvault", "usage", "parser", "devdb"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AICOSTS_", "MONGODB_", "PROVIDER_BASE_URL_"))
    }
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update({"AICOSTS_VAR_DIR": str(var_dir), "LOG_LEVEL": "INFO"})
    env.update(extra_env or {})
    return ports, env


def make_stack(var_dir: Path, extra_env: dict[str, str] | None = None) -> Stack:
    ports, env = stack_ports_and_env(var_dir, extra_env)
    return Stack(
        var_dir=var_dir,
        env=env,
        log_path=var_dir.parent / f"{var_dir.name}.log",
        base_url=f"http://127.0.0.1:{ports['gateway']}",
        ports=ports,
    )
