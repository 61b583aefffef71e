"""In-process checks of the gateway app: the OpenAPI document covers every route, and an
unexpected exception becomes a bare 500 problem."""

from __future__ import annotations

import pytest
from devstack import secrets
from gateway import create_app
from gateway.config import load


@pytest.fixture()
def app(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    cfg = load({"TLS_DIR": str(paths["tls_dir"]), "GATEWAY_JWT_PUBLIC_KEY_FILE": str(paths["jwt_public"])})
    return create_app(cfg)


def test_openapi_documents_every_route_and_method(app):
    doc = app.extensions["openapi"]
    assert doc["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("web_"):
            continue  # the web app's pages and cookie session are not part of the REST API (docs/web.md)
        path = rule.rule.replace("<", "{").replace(">", "}")
        path = "/".join(seg.split(":")[-1] if seg.startswith("{") else seg for seg in path.split("/"))
        assert path in doc["paths"], f"{path} missing from openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], f"{method} {path} undocumented"


def test_unexpected_exception_is_500_problem_without_details(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret-detail-should-not-leak")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret-detail" not in response.get_data(as_text=True)
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]


def test_json_body_limit_comes_from_the_environment(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    env = {
        "TLS_DIR": str(paths["tls_dir"]),
        "GATEWAY_JWT_PUBLIC_KEY_FILE": str(paths["jwt_public"]),
        "GATEWAY_MAX_JSON_BYTES": "2048",
    }
    client = create_app(load(env)).test_client()
    body = '{"email": "a@example.com", "password": "' + "x" * 3000 + '"}'
    response = client.post("/v1/auth/login", data=body, content_type="application/json")
    assert response.status_code == 413 and "(2048 bytes)" in response.get_json()["detail"]
