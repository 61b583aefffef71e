"""SIGTERM drains a service: health flips to NOT_SERVING, the in-flight call completes, exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from devstack import secrets
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.grpc_clients import channel_as, identity_files
from support.ports import free_ports

SUPPORT = Path(__file__).resolve().parents[1] / "support"


def _health(channel: grpc.Channel) -> str:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def test_sigterm_drains_in_flight_call(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    port = free_ports(1)[0]
    env = {
        **os.environ,
        "PARSER_PORT": str(port),
        "TLS_DIR": str(paths["tls_dir"]),
        "SHUTDOWN_DELAY_SECONDS": "1.5",
        "SHUTDOWN_GRACE_SECONDS": "10",
        "PYTHONPATH": str(SUPPORT.parent),
    }
    proc = subprocess.Popen([sys.executable, str(SUPPORT / "slow_server.py")], env=env)
    try:
        files = identity_files(paths["tls_dir"], "gateway", tmp_path / "client")
        with channel_as(f"127.0.0.1:{port}", files) as channel:
            deadline = time.monotonic() + 20
            while True:
                try:
                    assert _health(channel) == "SERVING"
                    break
                except grpc.RpcError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)

            sleep_call = channel.unary_unary("/test.Slow/Sleep")
            result: dict[str, object] = {}

            def in_flight() -> None:
                try:
                    result["reply"] = sleep_call(b"3", timeout=15)
                except grpc.RpcError as exc:
                    result["error"] = exc.code()

            caller = threading.Thread(target=in_flight)
            caller.start()
            time.sleep(0.5)  # the call is now running on the server
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert _health(channel) == "NOT_SERVING"
            caller.join(20)
            assert result == {"reply": b"done"}
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
