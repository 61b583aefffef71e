"""One server interceptor: caller identity from mTLS, per-method allowlist, request context,
one log line per RPC, and domain errors mapped to status codes (never repr(e) to the caller)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import grpc

from svccommon import context
from svccommon.errors import ServiceError
from svccommon.identity import peer_identity
from svccommon.services import ALL_IDENTITIES

log = logging.getLogger("svccommon.rpc")

# Allowlist shorthand for "every AICosts service" (still only identities we issue certificates for).
ANY_SERVICE = "*"
# Methods every authenticated peer may call: health and (outside production) reflection.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/",)
REFLECTION_PREFIX = "/grpc.reflection."

Allowlist = Mapping[str, Iterable[str]]
# (method, caller identity) of a refused call; runs in the request context (account id, request id).
DenialSink = Callable[[str, str], None]


class AccessInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        allowlist: Allowlist,
        trust_domain: str,
        allow_reflection: bool,
        on_denied: Iterable[DenialSink] = (),
    ) -> None:
        self._allow = {method: frozenset(ids) for method, ids in allowlist.items()}
        self._trust_domain = trust_domain
        self._allow_reflection = allow_reflection
        self._on_denied = tuple(on_denied)

    def allowed(self, method: str, identity: str) -> bool:
        if method.startswith(OPEN_METHOD_PREFIXES):
            return True
        if method.startswith(REFLECTION_PREFIX):
            return self._allow_reflection
        callers = self._allow.get(method, frozenset())
        return identity in callers or (ANY_SERVICE in callers and identity in ALL_IDENTITIES)

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            # Refused exactly like a method the caller may not call, so a caller cannot tell
            # which methods exist (UNIMPLEMENTED would say so).
            return grpc.unary_unary_rpc_method_handler(self._wrap_unary(method, _no_such_method))
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap_unary(method, handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._wrap_stream(method, handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _admit(self, method: str, ctx: grpc.ServicerContext) -> str:
        identity = peer_identity(ctx, self._trust_domain)
        if identity is None:
            ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "a valid client certificate is required")
            raise AssertionError("unreachable")  # abort raises
        if not self.allowed(method, identity):
            log.warning("rpc denied", extra={"method": method, "peer": identity, "code": "PERMISSION_DENIED"})
            self._tell_denied(method, identity)
            ctx.abort(grpc.StatusCode.PERMISSION_DENIED, f"service {identity!r} may not call {method}")
        return identity

    def _tell_denied(self, method: str, identity: str) -> None:
        for sink in self._on_denied:
            try:
                sink(method, identity)
            except Exception as exc:  # the denial stands whatever happens to its audit event
                log.error("denial not audited", extra={"method": method, "error_type": type(exc).__name__})

    def _wrap_unary(self, method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(request: Any, ctx: grpc.ServicerContext) -> Any:
            with context.bound(context.RequestContext.from_metadata(_text_metadata(ctx))):
                started = time.perf_counter()
                peer = None
                try:
                    peer = self._admit(method, ctx)
                    return behavior(request, ctx)
                except Exception as exc:
                    _abort_for(exc, ctx)
                finally:
                    _log_rpc(method, peer, ctx, started)

        return wrapper

    def _wrap_stream(self, method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(request: Any, ctx: grpc.ServicerContext) -> Any:
            with context.bound(context.RequestContext.from_metadata(_text_metadata(ctx))):
                started = time.perf_counter()
                peer = None
                try:
                    peer = self._admit(method, ctx)
                    yield from behavior(request, ctx)
                except Exception as exc:
                    _abort_for(exc, ctx)
                finally:
                    _log_rpc(method, peer, ctx, started)

        return wrapper


def _text_metadata(ctx: grpc.ServicerContext) -> dict[str, str]:
    """The call's text metadata (binary "-bin" entries are never request context)."""
    return {key: value for key, value in ctx.invocation_metadata() if isinstance(value, str)}


def _no_such_method(_request: bytes, ctx: grpc.ServicerContext) -> NoReturn:
    # Reached only under an open prefix (health, reflection), whose services are public anyway.
    ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "method not found")
    raise AssertionError("unreachable")


def _abort_for(exc: Exception, ctx: grpc.ServicerContext) -> NoReturn:
    """End the call with a status for exc (always raises)."""
    if _code_of(ctx) not in (None, grpc.StatusCode.OK):  # already aborted (allowlist or the servicer)
        raise exc
    if isinstance(exc, ServiceError):
        if metadata := getattr(exc, "metadata", None):  # refinements the gateway reads (errors.py)
            ctx.set_trailing_metadata(metadata)
        ctx.abort(grpc.StatusCode[exc.status], exc.message)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
    # The type and place only: exception messages can carry secrets or user data.
    log.error("rpc failed", extra={"error_type": type(exc).__name__, "where": where})
    ctx.abort(grpc.StatusCode.INTERNAL, "internal error")
    raise AssertionError("unreachable")


def _code_of(ctx: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The status set on the call so far. ServicerContext.code() exists since grpc 1.38;
    types-grpcio does not declare it yet."""
    return ctx.code()  # type: ignore[attr-defined]


def _log_rpc(method: str, peer: str | None, ctx: grpc.ServicerContext, started: float) -> None:
    code = _code_of(ctx)
    log.info(
        "rpc",
        extra={
            "method": method,
            "peer": peer,
            "code": code.name if code else "OK",
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "client_ip": context.current().client_ip or None,
        },
    )
