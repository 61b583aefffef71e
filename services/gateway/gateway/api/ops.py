"""Operations endpoints: liveness, readiness, status, the OpenAPI document, security.txt.
Readiness and status report the backends' health as cached by gateway.healthcache."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Blueprint, Response, current_app, jsonify

from gateway.answers import Answer
from gateway.openapi import json_body, problem
from gateway.problems import Problem

bp = Blueprint("ops", __name__)

# UNKNOWN: the gateway could not reach it; SERVICE_UNKNOWN: it does not know the service name.
ServiceStatus = Literal["SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN"]


class Alive(Answer):
    status: Literal["ok"]


class Ready(Answer):
    status: Literal["ready"]
    services: dict[str, ServiceStatus]


class Status(Answer):
    services: dict[str, ServiceStatus]
    region: str


@bp.get("/healthz")
def healthz():
    return jsonify(Alive(status="ok").dump())


@bp.get("/readyz")
def readyz():
    services = current_app.extensions["health"]()
    down = sorted(name for name, status in services.items() if status != "SERVING")
    if down:
        raise Problem(503, f"not serving: {', '.join(down)}", kind="not-ready", extra={"services": services})
    return jsonify(Ready(status="ready", services=services).dump())


@bp.get("/v1/status")
def status():
    services = current_app.extensions["health"]()
    return jsonify(Status(services=services, region=current_app.config["AICOSTS"].region).dump())


@bp.get("/openapi.json")
def openapi():
    return jsonify(current_app.extensions["openapi"])


@bp.get("/.well-known/security.txt")
def security_txt():
    domain = current_app.config["AICOSTS"].public_domain
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=180)).strftime("%Y-%m-%dT00:00:00Z")
    body = (
        f"Contact: mailto:security@{domain}\n"
        f"Expires: {expires}\n"
        "Preferred-Languages: en\n"
        f"Canonical: https://{domain}/.well-known/security.txt\n"
    )
    return Response(body, mimetype="text/plain")


OPENAPI_PATHS = {
    "/healthz": {"get": {"summary": "Process is alive", "responses": {"200": json_body(Alive)}}},
    "/readyz": {
        "get": {
            "summary": "Every backend answers its health check",
            "responses": {"200": json_body(Ready), "503": problem("A backend is not serving")},
        }
    },
    "/v1/status": {"get": {"summary": "Backend status and region", "responses": {"200": json_body(Status)}}},
    "/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": json_body({"type": "object"})}}
    },
    "/.well-known/security.txt": {
        "get": {
            "summary": "RFC 9116 security contact",
            "responses": {
                "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
            },
        }
    },
}
