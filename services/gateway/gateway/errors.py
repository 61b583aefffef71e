"""Every error leaves the gateway as problem+json: HTTP errors, validation, backend status
codes and unexpected exceptions (a 500 carries only the request id)."""

from __future__ import annotations

import logging

import grpc
from flask import Flask, Response
from pydantic import ValidationError
from svccommon.channels import trailing_metadata
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from gateway.answers import AnswerInvalid
from gateway.problems import Problem, problem_response

log = logging.getLogger("gateway.errors")

# Backend status → HTTP status. Backends put user-safe text in the details of 4xx-class codes.
GRPC_TO_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 422,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


# HTTP statuses a backend may name in `x-problem-status` trailing metadata.
BACKEND_NAMED_STATUSES = {"403", "413", "415", "422", "429", "503"}
# A plan-required refusal names the account's plan and the plan that allows the action
# (svccommon.errors.PlanRequired): trailing metadata → problem fields.
PLAN_FIELDS = {"x-plan": "plan", "x-required-plan": "required_plan"}


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors()
    ]


def _from_http(exc: HTTPException) -> Response:
    headers = {}
    detail = exc.description or ""
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        detail = f"this endpoint allows {headers['Allow']}"
    if isinstance(exc, RequestEntityTooLarge):
        detail = "the request body is larger than this endpoint accepts"
    return problem_response(Problem(exc.code or 500, detail, headers=headers))


def problem_from_grpc(exc: grpc.RpcError) -> Problem:
    """The problem a backend's gRPC error stands for (the API's answers and the email pages')."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    meta = trailing_metadata(exc)
    detail = (exc.details() if hasattr(exc, "details") else None) or ""
    # Backends refine a status code with trailing metadata: an HTTP status gRPC codes cannot say
    # (413, 415, a plan's 403), the field a validation error is about, or how long to wait.
    named = meta.get("x-problem-status", "")
    if named in BACKEND_NAMED_STATUSES:
        headers = {"Retry-After": meta.get("retry-after", "30")} if named in ("429", "503") else {}
        extra = {name: meta[key] for key, name in PLAN_FIELDS.items() if meta.get(key)}
        return Problem(
            int(named), detail, kind=meta.get("x-problem-kind"), headers=headers, extra=extra or None
        )
    if code == grpc.StatusCode.INVALID_ARGUMENT and meta.get("x-field"):
        errors = [{"field": meta["x-field"], "message": detail, "code": meta.get("x-error-code", "invalid")}]
        return Problem(400, detail, kind="validation", errors=errors)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and meta.get("retry-after", "").isdigit():
        headers = {"Retry-After": meta["retry-after"]}
        return Problem(429, detail, kind="rate-limited", headers=headers)
    status = GRPC_TO_HTTP.get(code, 500)
    if status == 503:
        detail = "a backend service is unavailable; try again shortly"
        return Problem(503, detail, headers={"Retry-After": "5"})
    if status == 500:
        log.error("backend error", extra={"grpc_code": getattr(code, "name", str(code))})
        return Problem(500, "an internal error occurred; quote the request id to support")
    headers = {"Retry-After": "60"} if status == 429 else {}
    return Problem(status, detail or "request refused", headers=headers)


def _from_grpc(exc: grpc.RpcError) -> Response:
    return problem_response(problem_from_grpc(exc))


def _unexpected(exc: Exception) -> Response:
    # Type only: messages and tracebacks can carry request data. An answer that does not fit its
    # model names the model and fields (never values), which is what a maintainer needs.
    extra = {"error_type": type(exc).__name__}
    if isinstance(exc, AnswerInvalid):
        extra["answer_error"] = str(exc)[:500]
    log.error("unhandled error", extra=extra)
    return problem_response(Problem(500, "an internal error occurred; quote the request id to support"))


def register(app: Flask) -> None:
    app.register_error_handler(Problem, problem_response)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(
        ValidationError,
        lambda exc: problem_response(
            Problem(400, "the request is not valid", kind="validation", errors=validation_errors(exc))
        ),
    )
    app.register_error_handler(grpc.RpcError, _from_grpc)
    app.register_error_handler(Exception, _unexpected)
