"""The gateway's gRPC clients: one mTLS channel per backend, created once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from aicosts.audit.v1 import audit_pb2_grpc
from aicosts.auth.v1 import auth_pb2_grpc
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from aicosts.parser.v1 import parser_pb2_grpc
from aicosts.usage.v1 import usage_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from svccommon import context
from svccommon.channels import Backend, secure_channel

from gateway.config import GatewayConfig

# Per backend: proto service name, stub class, and the methods safe to retry on UNAVAILABLE.
BACKEND_SPECS = {
    "auth": (
        "aicosts.auth.v1.AuthService",
        auth_pb2_grpc.AuthServiceStub,
        # HandleStripeWebhook: deduplicated by event id, so a retry never applies an event twice.
        ("GetServiceInfo", "GetAccount", "CheckSession", "Logout", "HandleStripeWebhook"),
    ),
    "keyvault": (
        "aicosts.keyvault.v1.KeyVaultService",
        keyvault_pb2_grpc.KeyVaultServiceStub,
        ("GetServiceInfo", "ListCredentials", "GetCredential"),
    ),
    "usage": (
        "aicosts.usage.v1.UsageService",
        usage_pb2_grpc.UsageServiceStub,
        (
            "GetServiceInfo",
            "GetSyncRun",
            "ListSyncRuns",
            "ForgetCredential",
            "GetUsageSummary",
            "ListRecords",
            "GetBudget",
            "ListBudgets",
            "ListDestinations",
            "ListDeliveries",
            "ListAlerts",
            "AcknowledgeAlert",
            "GetAlertSettings",
            "UpdateAlertSettings",
            "GetForecast",
        ),
    ),
    "parser": (
        "aicosts.parser.v1.ParserService",
        parser_pb2_grpc.ParserServiceStub,
        ("GetServiceInfo", "GetUpload", "ListUploads", "ImportUpload"),
    ),
}

HEALTH_TIMEOUT_S = 1.0
# Uploads travel to the parser in one message (the parser caps files at 20 MiB).
MAX_MESSAGE_BYTES = {"parser": 25 * 1024 * 1024}


@dataclass
class Backends:
    clients: dict[str, Backend]
    service_names: dict[str, str]
    # Every backend also serves aicosts.audit.v1.AuditService, on the same channel.
    audit: dict[str, Backend] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Backend:
        return self.clients[name]

    def health(self) -> dict[str, str]:
        """Each backend's health status name: SERVING, NOT_SERVING or UNKNOWN (unreachable)."""
        pending = {
            # types-grpcio-health-checking declares no methods on the generated stub
            name: health_pb2_grpc.HealthStub(client.channel).Check.future(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=self.service_names[name]),
                timeout=HEALTH_TIMEOUT_S,
                metadata=context.current().to_metadata(),
            )
            for name, client in self.clients.items()
        }  # all four in flight at once
        result = {}
        for name, future in pending.items():
            try:
                result[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(future.result().status)
            except grpc.RpcError:
                result[name] = "UNKNOWN"
        return result


def connect(cfg: GatewayConfig) -> Backends:
    clients, audit = {}, {}
    for name, (service, stub_cls, idempotent) in BACKEND_SPECS.items():
        channel = secure_channel(
            cfg.backends[name],
            cfg.tls,
            service,
            idempotent,
            max_message_bytes=MAX_MESSAGE_BYTES.get(name, 4 << 20),
        )
        # Fail fast: a dead backend is a 503 at once (a channel still connecting still waits).
        clients[name] = Backend(channel, stub_cls, cfg.backend_timeout_s, wait_for_ready=False)
        audit[name] = Backend(
            channel, audit_pb2_grpc.AuditServiceStub, cfg.backend_timeout_s, wait_for_ready=False
        )
    return Backends(clients, {name: spec[0] for name, spec in BACKEND_SPECS.items()}, audit)
