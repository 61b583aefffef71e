"""mTLS credentials for gRPC servers and channels."""

from __future__ import annotations

import grpc

from svccommon.config import TlsFiles


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    # require_client_auth: a caller without a certificate signed by our CA fails the handshake.
    return grpc.ssl_server_credentials(
        [(files.key.read_bytes(), files.cert.read_bytes())],
        root_certificates=files.ca.read_bytes(),
        require_client_auth=True,
    )


def channel_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=files.ca.read_bytes(),
        private_key=files.key.read_bytes(),
        certificate_chain=files.cert.read_bytes(),
    )
