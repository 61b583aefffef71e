"""The OpenAPI 3.1 document. Request bodies and query parameters come from the pydantic models
that validate them: a view declares its model with @body or @query (which also parse and pass
it on), and build() reads those declarations off the routes, so a validated input cannot go
undocumented. Summaries, responses and schemas of answers are the OPENAPI_PATHS/OPENAPI_SCHEMAS
each API module still writes by hand."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar, get_origin

from flask import Flask, request
from pydantic import BaseModel
from svccommon.runner import version

from gateway.bodies import json_object

F = TypeVar("F", bound=Callable[..., Any])

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
BAD_QUERY = problem("Invalid parameters")
BODY_PROBLEMS = {"400": problem("The body is not valid"), "415": problem("The body is not JSON")}
# gunicorn reads a request line of at most 4094 bytes (limit_request_line) and answers longer
# ones itself, before the app: a long query (many list values, a long cursor) can reach it.
URI_TOO_LONG = {
    "description": "The URL is longer than the server reads (4094 bytes of request line)",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
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


def body(model: type[BaseModel], *, optional: bool = False) -> Callable[[F], F]:
    """The view takes a JSON body valid as `model`, passed to it as `body` (and documented from
    the model). optional: an empty body stands for {}."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            return view(*args, body=model.model_validate(json_object(optional=optional)), **kwargs)

        run.openapi_body = (model, not optional)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


def _lists(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items() if get_origin(f.annotation) is list}


def _parse_query(model: type[BaseModel]) -> Any:
    """Query string → model. Lists take repeated keys and/or commas (group_by=day,model); the
    model's KEEP_EMPTY lists keep one empty value when it is all there is (it means something)."""
    lists, keep_empty = _lists(model), getattr(model, "KEEP_EMPTY", ())
    raw: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        if key in lists:
            parts = [p for p in (part.strip() for v in values for part in v.split(",")) if p]
            raw[key] = parts or ([""] if key in keep_empty else [])
        else:
            raw[key] = values[-1]
    return model.model_validate(raw)


def query(model: type[BaseModel]) -> Callable[[F], F]:
    """The view's query string, valid as `model`, passed to it as `query` (and documented from
    the model: one parameter per field, its alias as the name)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            return view(*args, query=_parse_query(model), **kwargs)

        run.openapi_query = model  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


def _hoist(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    schemas.update(schema.pop("$defs", {}))
    return schema


def _model_schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    return _hoist(
        model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation"), schemas
    )


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value is a string or absent, never null: `X | None` documents as X."""
    schema = {k: v for k, v in schema.items() if k not in ("title", "description", "default")}
    options = [o for o in schema.pop("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    return schema


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _model_schema(model, schemas)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
        if "description" in prop:
            parameter["description"] = prop["description"]
        if name in _lists(model):
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _routes(modules: Iterable[ModuleType]) -> Iterable[tuple[str, str, Any, list[str]]]:
    """(path, method, view, path arguments) of every route the modules' blueprints declare."""
    scratch = Flask("openapi")
    for module in modules:
        scratch.register_blueprint(module.bp)
    for rule in scratch.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = "/".join(
            f"{{{seg[1:-1].split(':')[-1]}}}" if seg.startswith("<") else seg for seg in rule.rule.split("/")
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), scratch.view_functions[rule.endpoint], sorted(rule.arguments)


def _from_models(paths: dict[str, Any], modules: Iterable[ModuleType], schemas: dict[str, Any]) -> None:
    """Fill each documented operation's body, query and path parameters in from its route, and
    its bearer security (with the 401) if the view requires an account."""
    for path, method, view, arguments in _routes(modules):
        operation = paths.get(path, {}).get(method)
        if operation is None:
            raise LookupError(f"{method.upper()} {path} has no entry in any module's OPENAPI_PATHS")
        written = [*paths[path].get("parameters", []), *operation.get("parameters", [])]
        declared = {(p["in"], p["name"]) for p in written}
        generated = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in arguments
            if ("path", name) not in declared
        ]
        if getattr(view, "requires_auth", False):  # authn.require_account
            operation.setdefault("security", [{"bearer": []}])
            operation["responses"] = {"401": problem("Not authenticated"), **operation["responses"]}
        if model := getattr(view, "openapi_query", None):
            generated += _query_parameters(model, schemas)
            operation["responses"] = {"400": BAD_QUERY, **operation["responses"], "414": URI_TOO_LONG}
        if generated:
            operation["parameters"] = [*generated, *operation.get("parameters", [])]
        if found := getattr(view, "openapi_body", None):
            model, required = found
            schemas[model.__name__] = _model_schema(model, schemas)
            operation["requestBody"] = {
                "required": required,
                "content": {"application/json": {"schema": ref(model.__name__)}},
            }
            operation["responses"] = {**BODY_PROBLEMS, **operation["responses"]}


def build(modules: Iterable[ModuleType], public_domain: str) -> dict[str, Any]:
    modules = tuple(modules)
    paths: dict[str, Any] = {}
    schemas = dict(BASE_SCHEMAS)
    for module in modules:
        for path, operations in getattr(module, "OPENAPI_PATHS", {}).items():
            for name, operation in operations.items():  # copied: the modules' tables stay as written
                paths.setdefault(path, {})[name] = {**operation} if name in HTTP_METHODS else operation
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    _from_models(paths, modules, schemas)
    paths = {path: _with_body_limit(operations) for path, operations in paths.items()}
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
