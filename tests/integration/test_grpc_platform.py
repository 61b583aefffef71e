"""Shared gRPC behaviour every service inherits: reflection in development, health per service."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from support.grpc_clients import channel_as, identity_files

SERVICES = {
    "auth": "aicosts.auth.v1.AuthService",
    "keyvault": "aicosts.keyvault.v1.KeyVaultService",
    "usage": "aicosts.usage.v1.UsageService",
    "parser": "aicosts.parser.v1.ParserService",
}


@pytest.fixture()
def gateway_files(stack, tmp_path):
    return identity_files(stack.var_dir / "secrets" / "tls", "gateway", tmp_path / "certs")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_reflection_lists_the_service_in_development(stack, gateway_files, name):
    with channel_as(f"127.0.0.1:{stack.ports[name]}", gateway_files) as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert SERVICES[name] in services and "grpc.health.v1.Health" in services


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_reports_each_named_service(stack, gateway_files, name):
    with channel_as(f"127.0.0.1:{stack.ports[name]}", gateway_files) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICES[name]), timeout=3)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as err:
            stub.Check(health_pb2.HealthCheckRequest(service="aicosts.nope.v1.Nope"), timeout=3)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
