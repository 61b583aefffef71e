"""GET /v1/platforms: the AI platforms AICosts can read, and what kind of key or file each needs."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify
from pydantic import Field
from svccommon import platforms

from gateway.answers import Answer
from gateway.openapi import page_of

bp = Blueprint("platforms", __name__)


class CredentialField(Answer):
    name: str = Field(description="The key in NewCredential.fields", examples=["access_key_id"])
    label: str
    secret: bool = Field(description="A secret value: a password input, never shown again")
    pattern: str = Field(description="A regular expression the whole value must match")
    max_length: int
    help: str = Field(description="What the value is and where to find it")
    required: bool = Field(description="False: the field may be left out or empty")


class Platform(Answer):
    id: str = Field(examples=["openai"])
    name: str
    connect: Literal["api_key", "file", "both"]
    units: list[str]
    key_hint: str = Field(description="What key (or file) to use and where to get it")
    fields: list[CredentialField] = Field(
        description="Empty: connect with one api_key. Otherwise POST /v1/credentials takes these values as "
        "'fields' (e.g. AWS: an access key ID and a secret access key)"
    )


@bp.get("/v1/platforms")
def list_platforms():
    # Public catalog (no account data): the connect page shows it before any key exists.
    items = [Platform.model_validate(p.to_dict()).dump() for p in platforms.list_platforms()]
    return jsonify(items=items, next_cursor=None)


OPENAPI_PATHS = {
    "/v1/platforms": {
        "get": {
            "summary": "Platforms that can be connected by API key or billing file",
            "responses": {"200": page_of(Platform)},
        }
    },
}
