"""OpenAPI paths and schemas of the billing-file endpoints (gateway.api.uploads)."""

from __future__ import annotations

from typing import Any

from gateway.openapi import json_body, page_of, problem, ref

_MONEY = {"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "USD, exact decimal"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_COMMON_ERRORS = {
    "404": problem("No such upload in this account"),
    "503": problem("A backend is unavailable"),
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "UploadRecord": {
        "type": "object",
        "required": ["date", "platform", "model", "cost_usd", "units", "line_items", "estimated"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "platform": {"type": "string"},
            "model": {"type": "string"},
            "cost_usd": _MONEY,
            "units": {"type": "object", "additionalProperties": {"type": "integer"}},
            "line_items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "quantity", "unit", "cost_usd"],
                    "properties": {
                        "name": {"type": "string"},
                        "quantity": {"type": ["string", "null"], "description": "Exact decimal"},
                        "unit": {"type": "string"},
                        "cost_usd": _MONEY,
                    },
                },
            },
            "estimated": {"type": "boolean"},
        },
    },
    "Upload": {
        "type": "object",
        "required": [
            "id",
            "filename",
            "size",
            "platform",
            "status",
            "parser",
            "records_preview",
            "total_cost_usd",
        ],
        "properties": {
            "id": {"type": "string"},
            "filename": {"type": "string", "description": "As uploaded; for display only"},
            "size": {"type": "integer"},
            "content_type": {"type": "string"},
            "platform": {"type": "string"},
            "status": {"type": "string", "enum": ["parsing", "parsed", "failed", "imported"]},
            "parser": {
                "type": "string",
                "description": "openai_cost_csv, openai_usage_csv, anthropic_cost_csv, anthropic_usage_csv, "
                "generic_table or openai_extraction",
            },
            "records_preview": {"type": "array", "items": ref("UploadRecord")},
            "record_count": {"type": "integer", "description": "All records (the preview may show fewer)"},
            "total_cost_usd": _MONEY,
            "warnings": {"type": "array", "items": {"type": "string"}},
            "columns_used": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Generic tables: role (date, cost_usd, model, ...) → the file's column header",
            },
            "records_imported": {"type": ["integer", "null"]},
            "error": {"type": ["string", "null"]},
            "created_at": _TIME,
            "imported_at": _TIME,
        },
    },
}

_UPLOAD = json_body({"type": "object", "required": ["upload"], "properties": {"upload": ref("Upload")}})

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/uploads": {
        "post": {
            "summary": "Upload a billing file (CSV, XLSX or PDF, at most 20 MB) and parse it into a preview",
            "description": (
                "Known OpenAI and Anthropic exports and tables with date and cost columns are read on every "
                "plan; PDFs and other layouts are read with OpenAI on the Professional plan. Nothing reaches "
                "usage until POST /v1/uploads/{upload_id}/import."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "platform": {
                                    "type": "string",
                                    "description": "A platform id (GET /v1/platforms)",
                                },
                            },
                        }
                    }
                },
            },
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
                "200": page_of("Upload"),
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
