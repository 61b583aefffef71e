"""OpenAPI route metadata of the billing-file endpoints (gateway.api.uploads); the answers' and
the form's schemas come from their models (gateway.api.uploads_models)."""

from __future__ import annotations

from typing import Any

from gateway.api.uploads_models import Upload, UploadEnvelope, UploadForm
from gateway.openapi import json_body, page_of, problem, raw_body

_COMMON_ERRORS = {
    "404": problem("No such upload in this account"),
    "503": problem("A backend is unavailable"),
}

_UPLOAD = json_body(UploadEnvelope)

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/uploads": {
        "post": {
            "summary": "Upload a billing file (CSV, XLSX or PDF, at most 20 MB) and parse it into a preview",
            "description": (
                "Known OpenAI and Anthropic exports and tables with date and cost columns are read on every "
                "plan; PDFs and other layouts are read with OpenAI on the Professional plan. Nothing reaches "
                "usage until POST /v1/uploads/{upload_id}/import."
            ),
            "requestBody": raw_body(UploadForm, "multipart/form-data"),
            "responses": {
                "202": _UPLOAD,
                "400": problem("Missing file or bad platform"),
                "403": problem(
                    "AI parsing needs the Professional plan; or email-unverified: the account's "
                    "email address is not confirmed yet"
                ),
                "413": problem("The file is larger than allowed (or expands too much)"),
                "415": problem("Not a CSV, XLSX or PDF file"),
                "422": problem("The file cannot be read into records"),
                "429": problem("Upload or AI parsing quota reached"),
                "503": problem("A backend or the AI service is unavailable, or all PDF readers are busy"),
            },
        },
        "get": {
            "summary": "The account's uploads, newest first",
            "responses": {
                "200": page_of(Upload),
                "400": problem("Bad limit or cursor"),
            },
        },
    },
    "/v1/uploads/{upload_id}": {
        "get": {
            "summary": "One upload with its preview",
            "responses": {"200": _UPLOAD, **_COMMON_ERRORS},
        },
        "delete": {
            "summary": "Delete an upload, its stored file and the usage records it imported",
            "responses": {"204": {"description": "Deleted"}, **_COMMON_ERRORS},
        },
    },
    "/v1/uploads/{upload_id}/import": {
        "post": {
            "summary": "Write the upload's records to usage (source: file); repeating it changes nothing",
            "responses": {"200": _UPLOAD, "422": problem("The upload cannot be imported"), **_COMMON_ERRORS},
        }
    },
}
