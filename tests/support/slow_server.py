"""A process running the shared gRPC lifecycle (svccommon.grpcserver.serve) with one slow
method, so a test can send SIGTERM while a call is in flight. The method touches
$SLOW_STARTED_FILE when a call starts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
from svccommon import logs
from svccommon.config import load_common
from svccommon.grpcserver import ServiceBinding, serve


def _sleep(request: bytes, context: grpc.ServicerContext) -> bytes:
    # Tells the test the call is running here (it then sends SIGTERM mid-call).
    started = os.environ.get("SLOW_STARTED_FILE")
    if started:
        Path(started).touch()
    time.sleep(float(request.decode() or "1"))
    return b"done"


def _register(server: grpc.Server) -> None:
    handler = grpc.method_handlers_generic_handler(
        "test.Slow", {"Sleep": grpc.unary_unary_rpc_method_handler(_sleep)}
    )
    server.add_generic_rpc_handlers((handler,))


if __name__ == "__main__":
    cfg = load_common("parser")
    logs.configure("slow", "INFO")
    serve(cfg, [ServiceBinding("test.Slow", _register, {"/test.Slow/Sleep": ("gateway",)})])
