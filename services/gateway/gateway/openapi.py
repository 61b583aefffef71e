"""The OpenAPI 3.1 document, built from models. Request bodies and query parameters come from
the pydantic models that validate them: a view declares its model with @body or @query (which
also parse and pass it on), and build() reads those declarations off the routes, so a validated
input cannot go undocumented. Answers come from the response models the handlers build their
JSON with (gateway.answers): a module's OPENAPI_PATHS names the model (json_body(Credential),
page_of(Credential)) and build() puts its serialization schema in the components. Forms, the
upload and raw bodies are described from a model too (raw_body). What a module
still writes by hand is route metadata: summaries, descriptions, status codes."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar, get_origin

from flask import Flask, request
from pydantic import BaseModel
from svccommon.release import version

from gateway.bodies import json_object

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def problem(description: str) -> dict[str, Any]:
    return {"description": description, **PROBLEM}


Schema = dict[str, Any] | type[BaseModel]


def json_body(schema: Schema, description: str = "OK") -> dict[str, Any]:
    """A JSON answer; `schema` is a response model (or a schema that may hold models)."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def envelope(description: str = "OK", **fields: Schema) -> dict[str, Any]:
    """A JSON answer {name: model, ...}, e.g. envelope(credential=Credential)."""
    return json_body({"type": "object", "required": list(fields), "properties": fields}, description)


def raw_body(model: type[BaseModel], media_type: str = "application/x-www-form-urlencoded") -> dict[str, Any]:
    """A request body that is not parsed as JSON (a form, a multipart upload, a raw body passed
    on), described from the model of its fields."""
    return {"required": True, "content": {media_type: {"schema": model}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(model: type[BaseModel]) -> dict[str, Any]:
    """The 200 of a list: {items, next_cursor}."""
    page = {"items": {"type": "array", "items": model}, "next_cursor": {"type": ["string", "null"]}}
    return json_body({"type": "object", "required": list(page), "properties": page})


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
            "plan": {"type": "string", "description": "plan-required: the account's plan"},
            "required_plan": {
                "type": ["string", "null"],
                "description": "plan-required: the cheapest plan that allows the action",
            },
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


def _passing(name: str, parse: Callable[[], Any], mark: Any) -> Callable[[F], F]:
    """A decorator that passes the view `parse()` as keyword `name` and marks it for build()."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **{name: parse()}, **kwargs)

        setattr(run, f"openapi_{name}", mark)
        return run  # type: ignore[return-value]  # functools.wraps: the view, as Flask sees it

    return wrap


def body(model: type[BaseModel], *, optional: bool = False) -> Callable[[F], F]:
    """The view takes a JSON body valid as `model`, passed to it as `body` (and documented from
    the model). optional: an empty body stands for {}."""
    return _passing(
        "body", lambda: model.model_validate(json_object(optional=optional)), (model, not optional)
    )


def query(model: type[BaseModel]) -> Callable[[F], F]:
    """The view's query string, valid as `model`, passed to it as `query` (and documented from
    the model: one parameter per field, its alias as the name)."""
    lists, keep_empty = _lists(model), frozenset(getattr(model, "KEEP_EMPTY", ()))
    return _passing("query", lambda: _parse_query(model, lists, keep_empty), model)


def _lists(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items() if get_origin(f.annotation) is list}


def _parse_query(model: type[BaseModel], lists: set[str], keep_empty: frozenset[str]) -> Any:
    """Query string → model. Lists take repeated keys and/or commas (group_by=day,model); the
    model's KEEP_EMPTY lists keep one empty value when it is all there is (it means something)."""
    raw: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        if key in lists:
            parts = [p for p in (part.strip() for v in values for part in v.split(",")) if p]
            raw[key] = parts or ([""] if key in keep_empty else [])
        else:
            raw[key] = values[-1]
    return model.model_validate(raw)


def _add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """One component per name: two different models (say a request and an answer) named alike
    would silently document one as the other."""
    if schemas.setdefault(name, schema) != schema:
        raise ValueError(f"two different schemas are named {name}: rename one of the models")


def _model_schema(
    model: type[BaseModel], schemas: dict[str, Any], mode: str = "validation"
) -> dict[str, Any]:
    """The model's JSON schema as it validates (requests) or serializes (answers); its
    definitions go to the components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        _add_schema(schemas, name, definition)
    return schema


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _resolve(node: Any, schemas: dict[str, Any], mode: str) -> Any:
    """A copy of node with every model in it replaced by a reference to its component schema."""
    if _is_model(node):
        _add_schema(schemas, node.__name__, _model_schema(node, schemas, mode))
        return ref(node.__name__)
    if isinstance(node, dict):
        return {k: _resolve(v, schemas, mode) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, schemas, mode) for v in node]
    return node


def _resolve_models(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Answers are documented as the models serialize, request bodies as they validate."""
    resolved = {k: _resolve(v, schemas, "serialization") for k, v in operation.items() if k != "requestBody"}
    if "requestBody" in operation:
        resolved["requestBody"] = _resolve(operation["requestBody"], schemas, "validation")
    return resolved


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
    parameters = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", ())}
        parameter.update({"schema": _not_null(prop)}, **{k: v for k, v in prop.items() if k == "description"})
        if name in _lists(model):
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _routes(modules: Iterable[ModuleType]) -> Iterable[tuple[str, str, Any, list[str]]]:
    """(path, method, view, path arguments) of every route the modules' blueprints declare."""
    scratch = Flask("openapi", static_folder=None)
    for module in modules:
        scratch.register_blueprint(module.bp)
    for rule in scratch.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), scratch.view_functions[rule.endpoint], sorted(rule.arguments)


def _from_routes(paths: dict[str, Any], modules: Iterable[ModuleType], schemas: dict[str, Any]) -> None:
    """Fill each documented operation in from its route: path parameters, the query and body
    models' parameters and schema (with their 400, 413, 414, 415), and the bearer security with
    its 401 if the view requires an account."""
    for path, method, view, arguments in _routes(modules):
        if method not in paths.get(path, {}):
            raise LookupError(f"{method.upper()} {path} has no entry in any module's OPENAPI_PATHS")
        operation = paths[path][method] = {**paths[path][method]}  # the module's table stays as written
        responses = operation["responses"]
        declared = {
            (p["in"], p["name"])
            for p in [*paths[path].get("parameters", []), *operation.get("parameters", [])]
        }
        generated = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in arguments
            if ("path", name) not in declared
        ]
        if getattr(view, "requires_auth", False):  # authn.require_account
            operation.setdefault("security", [{"bearer": []}])
            responses = {"401": problem("Not authenticated"), **responses}
        if model := getattr(view, "openapi_query", None):
            generated += _query_parameters(model, schemas)
            responses = {"400": BAD_QUERY, **responses, "414": URI_TOO_LONG}
        if generated:
            operation["parameters"] = [*generated, *operation.get("parameters", [])]
        if found := getattr(view, "openapi_body", None):
            model, required = found
            _add_schema(schemas, model.__name__, _model_schema(model, schemas))
            content = {"application/json": {"schema": ref(model.__name__)}}
            operation["requestBody"] = {"required": required, "content": content}
            responses = {**BODY_PROBLEMS, **responses}
        if "requestBody" in operation:  # every body has a size limit (gateway.bodies)
            responses = {"413": TOO_LARGE, **responses}
        operation["responses"] = responses


def build(modules: Iterable[ModuleType], public_domain: str) -> dict[str, Any]:
    modules = tuple(modules)
    paths: dict[str, Any] = {}
    schemas = dict(BASE_SCHEMAS)
    for module in modules:
        for path, operations in getattr(module, "OPENAPI_PATHS", {}).items():
            resolved = {
                m: _resolve_models(op, schemas) if m in HTTP_METHODS else op for m, op in operations.items()
            }
            paths.setdefault(path, {}).update(resolved)
    _from_routes(paths, modules, schemas)
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
