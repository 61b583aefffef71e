"""Internal calls need a client certificate from our CA, and the caller's identity (from that
certificate, never metadata) must be on the method's allowlist."""

from __future__ import annotations

import time

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2_grpc
from aicosts.common.v1 import service_info_pb2
from aicosts.keyvault.v1 import keyvault_pb2_grpc
from devstack import certs
from support.grpc_clients import channel_as, channel_without_client_cert, identity_files
from svccommon.config import TlsFiles


@pytest.fixture()
def tls_dir(stack):
    return stack.var_dir / "secrets" / "tls"


def test_call_without_client_certificate_fails(stack, tls_dir):
    with channel_without_client_cert(f"127.0.0.1:{stack.ports['keyvault']}", tls_dir / "ca.crt") as ch:
        with pytest.raises(grpc.RpcError) as err:
            keyvault_pb2_grpc.KeyVaultServiceStub(ch).GetServiceInfo(
                service_info_pb2.GetServiceInfoRequest(), timeout=3
            )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE  # the TLS handshake is refused


def test_certificate_from_another_ca_fails(stack, tls_dir, tmp_path):
    rogue_dir = tmp_path / "rogue"
    rogue_dir.mkdir()
    rogue_ca = certs.ensure_ca(rogue_dir)
    certs.issue(rogue_dir, "gateway", "aicosts.local", rogue_ca)
    files = TlsFiles(ca=tls_dir / "ca.crt", cert=rogue_dir / "gateway.crt", key=rogue_dir / "gateway.key")
    with channel_as(f"127.0.0.1:{stack.ports['auth']}", files) as ch, pytest.raises(grpc.RpcError) as err:
        auth_pb2_grpc.AuthServiceStub(ch).GetServiceInfo(service_info_pb2.GetServiceInfoRequest(), timeout=3)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_unknown_service_identity_is_denied(stack, tls_dir, tmp_path):
    files = identity_files(tls_dir, "intruder", tmp_path / "certs")
    with channel_as(f"127.0.0.1:{stack.ports['auth']}", files) as ch, pytest.raises(grpc.RpcError) as err:
        auth_pb2_grpc.AuthServiceStub(ch).GetServiceInfo(service_info_pb2.GetServiceInfoRequest(), timeout=3)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_identity_claimed_in_metadata_is_ignored(stack, tls_dir, tmp_path):
    files = identity_files(tls_dir, "intruder", tmp_path / "certs")
    spoof = (
        ("x-service-identity", "gateway"),
        ("x-spiffe-id", "spiffe://aicosts.local/ns/aicosts/sa/gateway"),
    )
    with channel_as(f"127.0.0.1:{stack.ports['auth']}", files) as ch, pytest.raises(grpc.RpcError) as err:
        auth_pb2_grpc.AuthServiceStub(ch).GetServiceInfo(
            service_info_pb2.GetServiceInfoRequest(), timeout=3, metadata=spoof
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_allowed_service_identity_is_served(stack, tls_dir, tmp_path):
    files = identity_files(tls_dir, "gateway", tmp_path / "certs")
    with channel_as(f"127.0.0.1:{stack.ports['auth']}", files) as ch:
        reply = auth_pb2_grpc.AuthServiceStub(ch).GetServiceInfo(
            service_info_pb2.GetServiceInfoRequest(), timeout=3
        )
    assert reply.service == "auth" and reply.region == "us-east-1"


def _refusal(ch: grpc.Channel, method: str) -> tuple[grpc.StatusCode, str]:
    """Call `method` with an empty message; the status code and details it is refused with."""
    call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        call(b"", timeout=3)
    return err.value.code(), err.value.details()


@pytest.mark.parametrize(
    "method",
    [
        "/aicosts.usage.v1.UsageService/NoSuchMethod",  # a served service, a method it lacks
        "/aicosts.nothing.v1.NoService/Call",  # a service the server does not have
    ],
)
def test_unknown_method_is_refused_like_a_forbidden_one(stack, tls_dir, tmp_path, method):
    # ImportRecords exists but only the parser may call it. A method that does not exist must be
    # refused the same way, so a caller learns nothing about which methods a service has.
    files = identity_files(tls_dir, "gateway", tmp_path / "certs")
    forbidden_method = "/aicosts.usage.v1.UsageService/ImportRecords"
    with channel_as(f"127.0.0.1:{stack.ports['usage']}", files) as ch:
        forbidden = _refusal(ch, forbidden_method)
        unknown = _refusal(ch, method)
    denied = grpc.StatusCode.PERMISSION_DENIED
    assert forbidden == (denied, f"service 'gateway' may not call {forbidden_method}")
    assert unknown == (denied, f"service 'gateway' may not call {method}")
    assert _logged_denial(stack, method)  # and recorded like any refused call


def _logged_denial(stack, method: str, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for raw in stack.log_text().splitlines():
            if '"rpc denied"' in raw and f'"method": "{method}"' in raw:
                return True
        time.sleep(0.2)
    return False
