"""Per-request plumbing: request id, request context for backends, security headers and one
structured access-log line (never bodies, tokens or keys)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from svccommon import context

log = logging.getLogger("gateway.access")

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _begin() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if context.valid_request_id(incoming) else context.new_request_id()
    ctx = context.RequestContext(
        request_id=request_id,
        client_ip=request.remote_addr or "",
        user_agent=(request.user_agent.string or "")[:512],
    )
    g.context_token = context.attach(ctx)
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    ctx = context.current()
    response.headers["X-Request-ID"] = ctx.request_id
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            "bytes": response.calculate_content_length() or 0,
            "client_ip": ctx.client_ip,
            "user_agent": ctx.user_agent,
        },
    )
    return response


def _teardown(_exc: BaseException | None) -> None:
    token = g.pop("context_token", None)
    if token is not None:
        context.detach(token)


def register(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_teardown)
