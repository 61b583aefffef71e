"""Request bodies: each route's size limit, enforced before a byte is read, and the one reader of
JSON bodies. Parsed JSON costs many times its size in memory and Python's parser recurses per
nesting level, so JSON bodies are small (GATEWAY_MAX_JSON_BYTES), shallow (MAX_JSON_DEPTH) and
strictly UTF-8; only routes that take files opt in to the large limit (GATEWAY_MAX_BODY_BYTES).
Every bad body is a 400 or 413 problem that says what is wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.problems import Problem

MAX_JSON_DEPTH = 32
LARGE = "large"  # body_limit(LARGE): the gateway's large limit, for routes that take files

F = TypeVar("F", bound=Callable[..., Any])

# A string token (to the end of the text if unterminated, so the scan stays linear) or a bracket.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.?)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)


def body_limit(max_bytes: int | str) -> Callable[[F], F]:
    """Decorator for a route that accepts a body larger than a JSON one: `max_bytes`, or LARGE."""

    def mark(view: F) -> F:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]  # a mark openapi.build reads
        return view

    return mark


def too_large(limit: int) -> Problem:
    detail = f"the request body is larger than this endpoint accepts ({limit} bytes)"
    return Problem(413, detail, kind="payload-too-large")


def _route_limit() -> int:
    cfg = current_app.config["AICOSTS"]
    view = current_app.view_functions.get(request.endpoint or "")
    wanted = getattr(view, "max_body_bytes", None)
    if wanted == LARGE:
        return cfg.max_body_bytes
    return int(wanted) if wanted is not None else cfg.max_json_bytes


def _limit_body() -> None:
    limit = _route_limit()
    # Bounds chunked bodies as they are read; a declared length is refused before reading.
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)


def _malformed(detail: str) -> Problem:
    return Problem(400, detail, kind="malformed-body")


def _deeper_than(text: str, limit: int) -> bool:
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _has_lone_surrogate(value: Any) -> bool:
    """True if a string anywhere in value holds an unpaired \\ud800-style escape (not encodable)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _read_at_most(limit: int) -> bytes:
    """The whole body, or a 413 problem if it is longer than `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    # werkzeug's bounded stream ends quietly at its limit, so a chunked body that is too long
    # would read as a truncated one: allow one byte more and refuse the body if it is there.
    request.max_content_length = limit + 1
    body = bytearray()
    try:
        while len(body) <= limit:
            chunk = request.stream.read(limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
    except RequestEntityTooLarge:
        raise too_large(limit) from None
    if len(body) > limit:
        raise too_large(limit)
    return bytes(body)


def json_object(*, optional: bool = False) -> dict[str, Any]:
    """The request's body as a JSON object, or a 413/415/400 problem. optional: an empty body
    stands for {} whatever its media type."""
    limit = current_app.config["AICOSTS"].max_json_bytes
    raw = _read_at_most(limit)
    if optional and not raw:
        return {}
    if request.mimetype != "application/json":
        raise Problem(415, "send the body as application/json", kind="unsupported-media-type")
    if not raw:
        raise _malformed("the body is empty: send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("the body is not UTF-8 text") from None
    if _deeper_than(text, MAX_JSON_DEPTH):
        raise _malformed(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _malformed(f"the body is not valid JSON: {exc.msg} ({where})") from None
    except _NotJson as exc:
        raise _malformed(f"the body is not valid JSON: {exc}") from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise _malformed("the body is not valid JSON: a number has too many digits") from None
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object", kind="validation")
    if _has_lone_surrogate(body):
        raise _malformed("the body holds a \\u escape of an unpaired surrogate, which is not text")
    return body


def register(app: Flask) -> None:
    """Run after the request id is set (so a 413 carries it) and before any view reads a body."""
    app.before_request(_limit_body)
