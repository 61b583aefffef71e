"""gRPC server lifecycle shared by every service: mTLS port, health, reflection (outside
production), allowlist interceptor, and a graceful SIGTERM drain."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from svccommon.config import CommonConfig
from svccommon.interceptors import AccessInterceptor, Allowlist, DenialSink
from svccommon.readiness import ReadinessWatch
from svccommon.tls import server_credentials

log = logging.getLogger("svccommon.server")

# The health service name the liveness probes ask for (k8s/base/<svc>/deployment.yaml); readiness
# asks for "" (the whole server), which follows the database.
LIVENESS_SERVICE = "liveness"


@dataclass(frozen=True)
class ServiceBinding:
    """One proto service: its full name, how to register its servicer, and who may call what."""

    full_name: str
    register: Callable[[grpc.Server], None]
    allowlist: Allowlist = field(default_factory=dict)
    # Told of every call the allowlist refuses (the audit binding records them); never blocks.
    on_denied: DenialSink | None = None
    # Run once the server has drained, before the database closes (audit: write pending events).
    on_drained: Callable[[], object] | None = None  # its result is ignored


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    health_server: grpc.Server | None
    health_port: int
    bindings: Sequence[ServiceBinding]

    def set_alive(self) -> None:
        """LIVENESS_SERVICE stays SERVING while the process runs (until it drains): a lost database
        makes a service not ready, never "dead", so Kubernetes does not restart it for that."""
        self.health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)

    def set_serving(self, serving: bool = True) -> None:
        """Every service name's status (ignored once draining: health then stays NOT_SERVING)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        self.health.set("", status)
        for b in self.bindings:
            self.health.set(b.full_name, status)

    def drain(self, delay_s: float, grace_s: float) -> None:
        """Health NOT_SERVING first (so balancers stop sending), then let in-flight calls finish."""
        self.health.enter_graceful_shutdown()
        time.sleep(delay_s)
        self.server.stop(grace_s).wait()
        if self.health_server is not None:
            self.health_server.stop(0).wait()


def build_server(
    cfg: CommonConfig,
    bindings: Sequence[ServiceBinding],
    max_workers: int = 16,
    max_message_bytes: int = 4 * 1024 * 1024,
) -> RunningServer:
    allowlist: dict[str, list[str]] = {}
    for b in bindings:
        for method, callers in b.allowlist.items():
            allowlist.setdefault(method, []).extend(callers)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"{cfg.service}-rpc"),
        interceptors=[
            AccessInterceptor(
                allowlist,
                cfg.trust_domain,
                allow_reflection=not cfg.production,
                on_denied=[b.on_denied for b in bindings if b.on_denied is not None],
            )
        ],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # Clients reconnect every few minutes, so pods the autoscaler adds get traffic too.
            ("grpc.max_connection_age_ms", 300_000),
            ("grpc.max_connection_age_grace_ms", 30_000),
        ],
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for b in bindings:
        b.register(server)
    if not cfg.production:
        names = [b.full_name for b in bindings] + [health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, server)
    port = server.add_secure_port(f"{cfg.bind_host}:{cfg.port}", server_credentials(cfg.tls))
    if port == 0:
        raise RuntimeError(f"could not bind {cfg.bind_host}:{cfg.port}")

    # Kubelet gRPC probes cannot present a client certificate, so health alone is also served
    # in plaintext on HEALTH_PORT when it is set (nothing else listens there).
    health_server, health_port = None, 0
    if cfg.health_port:
        health_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
        health_port = health_server.add_insecure_port(f"0.0.0.0:{cfg.health_port}")

    return RunningServer(server, port, health_servicer, health_server, health_port, bindings)


def serve(
    cfg: CommonConfig,
    bindings: Sequence[ServiceBinding],
    on_stop: Callable[[], None] | None = None,
    max_message_bytes: int = 4 * 1024 * 1024,
    ready_probe: Callable[[], bool] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT, then drain and return. `ready_probe` (the database's ping): the
    health status is NOT_SERVING while it fails."""
    running = build_server(cfg, bindings, max_message_bytes=max_message_bytes)
    running.server.start()
    if running.health_server is not None:
        running.health_server.start()
    running.set_alive()
    running.set_serving()
    log.info("serving", extra={"port": running.port, "health_port": running.health_port or None})
    watch = ReadinessWatch(ready_probe, running.set_serving).start() if ready_probe else None

    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("draining", extra={"signal": signal.Signals(signum).name})
        threading.Thread(target=running.drain, args=(cfg.shutdown_delay_s, cfg.shutdown_grace_s)).start()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    running.server.wait_for_termination()
    if watch is not None:
        watch.stop()
    for b in bindings:
        if b.on_drained is not None:
            b.on_drained()
    if on_stop is not None:
        on_stop()
    log.info("stopped")
