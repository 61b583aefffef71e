"""RFC 9457 problem+json: the one shape every gateway error takes."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from svccommon import context
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_TYPE_BASE = "https://aicosts.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise anywhere in a view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        kind: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTP_STATUS_CODES.get(status, "Error")
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}  # RFC 9457 extension members


def problem_response(problem: Problem) -> Response:
    slug = problem.kind or problem.title.lower().replace(" ", "-").replace("'", "")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "request_id": context.current().request_id,
    }
    if problem.errors:
        body["errors"] = problem.errors
    body.update({k: v for k, v in problem.extra.items() if k not in body})
    response = Response(json.dumps(body), status=problem.status, mimetype=MEDIA_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response
