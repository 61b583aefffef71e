"""SIGTERM drains a service: health flips to NOT_SERVING, the in-flight call completes, exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
from devstack import secrets
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.grpc_clients import channel_as, identity_files
from support.ports import free_ports
from testkit.waiting import wait_until

SUPPORT = Path(__file__).resolve().parents[1] / "support"


def _health(channel: grpc.Channel) -> str:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def _serving(channel: grpc.Channel) -> bool:
    try:
        return _health(channel) == "SERVING"
    except grpc.RpcError:  # not listening yet
        return False


def test_sigterm_drains_in_flight_call(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    port = free_ports(1)[0]
    started = tmp_path / "call-started"
    env = {
        **os.environ,
        "PARSER_PORT": str(port),
        "TLS_DIR": str(paths["tls_dir"]),
        "SHUTDOWN_DELAY_SECONDS": "1.5",
        "SHUTDOWN_GRACE_SECONDS": "10",
        # Keep the caller's PYTHONPATH: the server must import the same svccommon as the test.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SUPPORT.parent), os.environ.get("PYTHONPATH")])),
        "SLOW_STARTED_FILE": str(started),
    }
    proc = subprocess.Popen([sys.executable, str(SUPPORT / "slow_server.py")], env=env)
    try:
        files = identity_files(paths["tls_dir"], "gateway", tmp_path / "client")
        with channel_as(f"127.0.0.1:{port}", files) as channel:
            wait_until(lambda: _serving(channel), 20, 0.1, "the server to start")

            sleep_call = channel.unary_unary("/test.Slow/Sleep")
            result: dict[str, object] = {}

            def in_flight() -> None:
                try:
                    result["reply"] = sleep_call(b"3", timeout=15)
                except grpc.RpcError as exc:
                    result["error"] = exc.code()

            caller = threading.Thread(target=in_flight)
            caller.start()
            wait_until(started.exists, 10, 0.02, "the slow call to start on the server")
            proc.send_signal(signal.SIGTERM)
            # Inside SHUTDOWN_DELAY_SECONDS the server still answers, saying it is going away.
            wait_until(lambda: _health(channel) == "NOT_SERVING", 1.2, 0.05, "health to say NOT_SERVING")
            caller.join(20)
            assert result == {"reply": b"done"}
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
