"""Test-side gRPC clients that present a chosen identity (a certificate from the stack's CA)."""

from __future__ import annotations

from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from devstack import certs
from svccommon.config import TlsFiles
from svccommon.tls import channel_credentials


def identity_files(
    tls_dir: Path, identity: str, out_dir: Path, trust_domain: str = "aicosts.local"
) -> TlsFiles:
    """A client certificate for `identity`, signed by the stack's own development CA."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ca_cert = x509.load_pem_x509_certificate((tls_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((tls_dir / "ca.key").read_bytes(), password=None)
    certs.issue(out_dir, identity, trust_domain, (ca_cert, ca_key), overwrite=True)  # type: ignore[arg-type]
    return TlsFiles(ca=tls_dir / "ca.crt", cert=out_dir / f"{identity}.crt", key=out_dir / f"{identity}.key")


def channel_as(target: str, files: TlsFiles) -> grpc.Channel:
    return grpc.secure_channel(target, channel_credentials(files))


def channel_without_client_cert(target: str, ca_file: Path) -> grpc.Channel:
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca_file.read_bytes()))
