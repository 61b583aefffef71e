"""GET /v1/platforms: the AI platforms AICosts can read, and what kind of key or file each needs."""

from __future__ import annotations

from flask import Blueprint, jsonify
from svccommon import platforms

from gateway.openapi import page_of, ref

bp = Blueprint("platforms", __name__)


@bp.get("/v1/platforms")
def list_platforms():
    # Public catalog (no account data): the connect page shows it before any key exists.
    return jsonify(items=[p.to_dict() for p in platforms.list_platforms()], next_cursor=None)


OPENAPI_SCHEMAS = {
    "CredentialField": {
        "type": "object",
        "required": ["name", "label", "secret", "pattern", "max_length", "help"],
        "properties": {
            "name": {
                "type": "string",
                "description": "The key in NewCredential.fields",
                "examples": ["access_key_id"],
            },
            "label": {"type": "string"},
            "secret": {
                "type": "boolean",
                "description": "A secret value: a password input, never shown again",
            },
            "pattern": {"type": "string", "description": "A regular expression the whole value must match"},
            "max_length": {"type": "integer"},
            "help": {"type": "string", "description": "What the value is and where to find it"},
            "required": {"type": "boolean", "description": "False: the field may be left out or empty"},
        },
    },
    "Platform": {
        "type": "object",
        "required": ["id", "name", "connect", "units", "key_hint", "fields"],
        "properties": {
            "id": {"type": "string", "examples": ["openai"]},
            "name": {"type": "string"},
            "connect": {"type": "string", "enum": ["api_key", "file", "both"]},
            "units": {"type": "array", "items": {"type": "string"}},
            "key_hint": {"type": "string", "description": "What key (or file) to use and where to get it"},
            "fields": {
                "type": "array",
                "items": ref("CredentialField"),
                "description": (
                    "Empty: connect with one api_key. Otherwise POST /v1/credentials takes these "
                    "values as 'fields' (e.g. AWS: an access key ID and a secret access key)"
                ),
            },
        },
    },
}

OPENAPI_PATHS = {
    "/v1/platforms": {
        "get": {
            "summary": "Platforms that can be connected by API key or billing file",
            "responses": {"200": page_of("Platform")},
        }
    },
}
