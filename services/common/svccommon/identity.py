"""Service identity: the SPIFFE URI in the caller's TLS certificate, never anything from metadata."""

from __future__ import annotations

import functools

import grpc
from cryptography import x509

NAMESPACE = "aicosts"


def spiffe_id(trust_domain: str, service: str, namespace: str = NAMESPACE) -> str:
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service}"


@functools.lru_cache(maxsize=64)
def _uri_sans(pem: bytes) -> tuple[str, ...]:
    cert = x509.load_pem_x509_certificate(pem)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(ext.value.get_values_for_type(x509.UniformResourceIdentifier))


def identity_from_uris(uris: tuple[str, ...], trust_domain: str) -> str | None:
    prefix = f"spiffe://{trust_domain}/ns/{NAMESPACE}/sa/"
    for uri in uris:
        if uri.startswith(prefix) and "/" not in uri[len(prefix) :]:
            return uri[len(prefix) :] or None
    return None


def peer_identity(context: grpc.ServicerContext, trust_domain: str) -> str | None:
    """The calling service's name, read from the verified peer certificate (AuthContext)."""
    auth = context.auth_context() or {}
    pems = auth.get("x509_pem_cert")
    if not pems or not isinstance(pems, list):  # a list of PEM certificates, leaf first
        return None
    return identity_from_uris(_uri_sans(pems[0]), trust_domain)
