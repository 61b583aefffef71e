"""The OpenAPI 3.1 document: a base plus the paths and schemas each API module declares."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

from svccommon.runner import version

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def problem(description: str) -> dict[str, Any]:
    return {"description": description, **PROBLEM}


def json_body(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


BASE_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    },
}


TOO_LARGE = problem("The body is larger than this operation accepts")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _with_body_limit(operations: dict[str, Any]) -> dict[str, Any]:
    """Every operation that takes a body answers 413 above its limit (gateway.bodies)."""
    return {
        name: (
            {**op, "responses": {"413": TOO_LARGE, **op["responses"]}}
            if name in HTTP_METHODS and "requestBody" in op
            else op
        )
        for name, op in operations.items()
    }


def build(modules: Iterable[ModuleType], public_domain: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas = dict(BASE_SCHEMAS)
    for module in modules:
        for path, operations in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(_with_body_limit(operations))
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AICosts API",
            "version": version(),
            "description": "What your team spends on AI, per day, platform and model.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": f"https://{public_domain}"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
