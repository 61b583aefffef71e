"""In-process checks of response models (gateway.answers) and of how the OpenAPI document is
built from them: an answer that does not fit its model is the server's 500, never a client's 400;
a sparse answer shows only the fields its handler set, and its schema says which are required;
two different models may not share a component name."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from devstack import secrets
from flask import Blueprint
from gateway import create_app, openapi
from gateway.answers import Answer, AnswerInvalid, Sparse
from gateway.api.usage_models import UsageGroup
from gateway.config import load
from pydantic import BaseModel


def test_an_answer_that_does_not_fit_its_model_is_a_500_without_values(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    app = create_app(
        load({"TLS_DIR": str(paths["tls_dir"]), "GATEWAY_JWT_PUBLIC_KEY_FILE": str(paths["jwt_public"])})
    )

    class Money(Answer):
        cost_usd: str

    @app.get("/bad-answer")
    def bad_answer():
        return Money(cost_usd=["not-a-string-secret"]).dump()

    response = app.test_client().get("/bad-answer")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert "not-a-string-secret" not in response.get_data(as_text=True)
    with pytest.raises(AnswerInvalid, match="cost_usd") as caught:
        Money.model_validate({"cost_usd": 1.5})
    assert "1.5" not in str(caught.value)


def test_a_sparse_answer_shows_only_what_was_set():
    totals = {
        "cost_usd": "1.50",
        "units": {"requests": 2},
        "records": 1,
        "provisional": False,
        "estimated": False,
    }
    assert UsageGroup(model="o3", project_name=None, **totals).dump() == {
        "model": "o3",
        "project_name": None,
        **totals,
    }
    schema = UsageGroup.model_json_schema(mode="serialization")
    assert schema["required"] == ["cost_usd", "units", "records", "provisional", "estimated"]
    assert schema["additionalProperties"] is False


def test_answers_are_documented_from_their_models_and_names_are_unique():
    class Thing(Answer):
        id: str
        note: str | None

    class Maybe(Sparse):
        id: str
        extra: int = None  # type: ignore[assignment]

    bp = Blueprint("things", __name__)

    @bp.get("/things")
    def things():
        return {}

    module = SimpleNamespace(
        bp=bp,
        OPENAPI_PATHS={
            "/things": {
                "get": {"responses": {"200": openapi.page_of(Thing), "201": openapi.json_body(Maybe)}}
            }
        },
    )
    document = openapi.build([module], "localhost")
    schemas = document["components"]["schemas"]
    assert schemas["Thing"]["required"] == ["id", "note"]  # every field of an Answer is always sent
    assert schemas["Maybe"]["required"] == ["id"]
    items = document["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert items["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Thing"}

    class Other(BaseModel):
        id: int

    Other.__name__ = "Thing"
    module.OPENAPI_PATHS["/things"]["get"]["responses"]["202"] = openapi.json_body(Other)
    with pytest.raises(ValueError, match="two different schemas are named Thing"):
        openapi.build([module], "localhost")
