"""A process running the shared gRPC lifecycle (svccommon.grpcserver.serve) with one slow
method, so a test can send SIGTERM while a call is in flight."""

from __future__ import annotations

import time

import grpc
from svccommon import logs
from svccommon.config import load_common
from svccommon.grpcserver import ServiceBinding, serve


def _sleep(request: bytes, context: grpc.ServicerContext) -> bytes:
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
