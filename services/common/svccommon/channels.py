"""Client side of internal calls: one mTLS channel per backend per process, retries on
UNAVAILABLE for idempotent methods, a deadline on every call, request context as metadata."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

import grpc

from svccommon import context
from svccommon.config import TlsFiles
from svccommon.tls import channel_credentials

DEFAULT_TIMEOUT_S = 5.0


def retry_service_config(service: str, idempotent_methods: Iterable[str]) -> str:
    names = [{"service": service, "method": m} for m in idempotent_methods]
    names.append({"service": "grpc.health.v1.Health", "method": "Check"})
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": names,
                    "retryPolicy": {
                        "maxAttempts": 4,
                        "initialBackoff": "0.1s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ]
        }
    )


def secure_channel(
    target: str,
    tls: TlsFiles,
    service: str = "",
    idempotent: Iterable[str] = (),
    max_message_bytes: int = 4 * 1024 * 1024,
) -> grpc.Channel:
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", retry_service_config(service, idempotent)),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        # A restarted backend is found again within a second (gRPC's default backoff grows to
        # two minutes, during which a fail-fast caller would keep answering "unavailable").
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    return grpc.secure_channel(target, channel_credentials(tls), options=options)


class Backend:
    """A stub plus the house rules: deadline and request-context metadata on every call."""

    def __init__(
        self,
        channel: grpc.Channel,
        stub_cls: type,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        wait_for_ready: bool = True,
    ) -> None:
        self.channel = channel
        self.wait_for_ready = wait_for_ready
        self.stub = stub_cls(channel)
        self.timeout_s = timeout_s

    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        # wait_for_ready (between services): a channel still (re)connecting waits within the
        # deadline instead of failing at once. The gateway fails fast instead: a person waiting
        # on a dead backend gets a 503 with Retry-After at once, not after every call's deadline.
        return getattr(self.stub, method)(
            request,
            timeout=timeout or self.timeout_s,
            metadata=context.current().to_metadata(),
            wait_for_ready=self.wait_for_ready,
        )


def trailing_metadata(exc: grpc.RpcError) -> dict[str, str]:
    """The text entries of a failed call's trailing metadata (how a service refines its status:
    the bad field, a retry-after, an HTTP status); binary "-bin" entries are left out."""
    metadata = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    # At run time the entries are (key, value) tuples; types-grpcio names them _Metadatum.
    entries = cast(Iterable[tuple[str, str | bytes]], metadata or ())
    return {key: value for key, value in entries if isinstance(value, str)}
