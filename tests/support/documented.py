"""Checks an answer against /openapi.json: its status is one the operation documents and its JSON
body is valid against that status's schema (jsonschema, the document's components resolved), so
the document and what the gateway really sends cannot drift apart."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests
from jsonschema import Draft202012Validator, FormatChecker


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, operations in document["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method in operations:
            return operations[method]
    raise AssertionError(f"{method.upper()} {path} is not in the document")


def assert_documented(document: dict[str, Any], response: requests.Response) -> Any:
    """The answer's JSON, after checking it is documented as sent; fails naming what differs."""
    request = response.request
    operation = _operation(document, str(request.method).lower(), urlsplit(request.url).path)
    status = str(response.status_code)
    assert status in operation["responses"], f"{request.method} {request.url}: undocumented {status}"
    media = response.headers["Content-Type"].split(";")[0].strip()
    content = operation["responses"][status].get("content", {})
    assert media in content, f"{request.method} {request.url}: {status} as undocumented {media}"
    # The schema at the root, with the components its references point into.
    schema = {**content[media]["schema"], "components": document["components"]}
    body = response.json()
    errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(body))
    assert not errors, f"{request.method} {request.url}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:300]}" for e in errors[:5]
    )
    return body
