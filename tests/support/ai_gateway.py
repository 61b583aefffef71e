"""One more parser and one more gateway wired to a local OpenAI-compatible fake (same database,
auth and usage as the session stack), started exactly as `make run` starts them, for tests of
the Professional upload paths (the session stack's parser has no OpenAI settings)."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.__main__ import stack_env
from testkit.fakes.openai_compat import FakeOpenAICompat

from support import processes
from support.ports import free_ports


@dataclass
class AiGateway:
    base_url: str
    fake: FakeOpenAICompat
    log_dir: Path
    parser_pid: int
    upload_dir: Path

    def logs(self) -> str:
        return processes.logs(self.log_dir)


@contextlib.contextmanager
def running_ai_gateway(
    stack: Any, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[AiGateway]:
    with FakeOpenAICompat() as fake:
        parser_port, gateway_port = free_ports(2)
        env = stack_env(dict(stack.env))  # the environment `make run` gives every process
        env.update(fake.stack_env())
        env.update(
            {
                "PARSER_PORT": str(parser_port),
                "PARSER_ADDR": f"127.0.0.1:{parser_port}",
                "GATEWAY_PORT": str(gateway_port),
                "GATEWAY_WORKERS": "1",
                "UPLOAD_DIR": str(log_dir / "uploads"),
                "PARSER_OPENAI_MODEL": "gpt-fake-extractor",
                **(extra_env or {}),
            }
        )
        parser = processes.start("parser", [sys.executable, "-m", "parser"], env, log_dir)
        started = [
            parser,
            processes.start_gateway(env, log_dir),
        ]
        gateway = AiGateway(
            f"http://127.0.0.1:{gateway_port}", fake, log_dir, parser.pid, Path(env["UPLOAD_DIR"])
        )
        try:
            processes.wait_ready(gateway.base_url, started, log_dir)
            yield gateway
        finally:
            processes.stop(started, [signal.SIGTERM, signal.SIGQUIT])  # SIGQUIT: gunicorn's quick exit
