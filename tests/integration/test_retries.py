"""Client-side house rules of svccommon.channels: an idempotent method is retried on
UNAVAILABLE, any other method is not, and every call carries a deadline."""

from __future__ import annotations

import grpc
import pytest
from devstack import secrets
from support.grpc_clients import identity_files
from support.ports import free_ports
from svccommon.channels import Backend, secure_channel
from svccommon.config import load_common
from svccommon.grpcserver import ServiceBinding, build_server


class Flaky:
    """Fails the first `failures` calls of each method with UNAVAILABLE, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}

    def handler(self, name: str):
        def behave(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] <= self.failures:
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            return b"ok"

        return grpc.unary_unary_rpc_method_handler(behave)


class RawStub:
    def __init__(self, channel: grpc.Channel) -> None:
        self.Read = channel.unary_unary("/test.Flaky/Read")
        self.Write = channel.unary_unary("/test.Flaky/Write")


@pytest.fixture()
def flaky_backend(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    port = free_ports(1)[0]
    cfg = load_common("parser", {"PARSER_PORT": str(port), "TLS_DIR": str(paths["tls_dir"])})
    flaky = Flaky(failures=2)

    def register(server: grpc.Server) -> None:
        handlers = {name: flaky.handler(name) for name in ("Read", "Write")}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Flaky", handlers),))

    allow = {"/test.Flaky/Read": ("gateway",), "/test.Flaky/Write": ("gateway",)}
    running = build_server(cfg, [ServiceBinding("test.Flaky", register, allow)])
    running.server.start()
    files = identity_files(paths["tls_dir"], "gateway", tmp_path / "client")
    channel = secure_channel(f"127.0.0.1:{running.port}", files, "test.Flaky", idempotent=("Read",))
    try:
        yield Backend(channel, RawStub, timeout_s=5), flaky
    finally:
        channel.close()
        running.server.stop(0).wait()


def test_idempotent_method_is_retried_on_unavailable(flaky_backend):
    backend, flaky = flaky_backend
    assert backend.call("Read", b"") == b"ok"
    assert flaky.calls["Read"] == 3  # two UNAVAILABLE answers, then success, all within one call


def test_other_methods_are_not_retried(flaky_backend):
    backend, flaky = flaky_backend
    with pytest.raises(grpc.RpcError) as err:
        backend.call("Write", b"")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert flaky.calls["Write"] == 1
