"""Billing files: upload (multipart) → preview → import into usage, list, get, delete. The
parser service does the reading; this module enforces the upload size per route (413 before the
body is read) and shapes the JSON; the parser asks auth for the plan and verified state itself."""

from __future__ import annotations

import re
from typing import Any

from aicosts.parser.v1 import parser_pb2 as pb
from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, Field

from gateway.api.uploads_models import Upload, UploadRecord
from gateway.api.uploads_openapi import OPENAPI_PATHS  # noqa: F401 (module contract)
from gateway.authn import require_account
from gateway.bodies import LARGE, body_limit
from gateway.openapi import query
from gateway.problems import Problem

bp = Blueprint("uploads", __name__)

UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # the parser checks its own (configurable, not larger) limit too
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the platform field
UPLOAD_TIMEOUT_S = 120.0  # PDF reading and OpenAI extraction run inside the call
IMPORT_TIMEOUT_S = 60.0
DELETE_TIMEOUT_S = 30.0
MAX_PAGE = 500

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_PLATFORM = re.compile(r"[a-z0-9_]{1,64}")
_MB = UPLOAD_MAX_BYTES // (1024 * 1024)


def _parser_call(method: str, message: Any, timeout: float | None = None) -> Any:
    # The parser names 413/415/403-plan statuses in trailing metadata; errors.py maps them.
    return current_app.extensions["backends"]["parser"].call(method, message, timeout=timeout)


def _record(r: pb.Record) -> UploadRecord:
    return UploadRecord(
        date=r.date,
        platform=r.platform,
        model=r.model,
        cost_usd=r.cost_usd,
        units=dict(r.units),
        line_items=[
            {"name": i.name, "quantity": i.quantity or None, "unit": i.unit, "cost_usd": i.cost_usd}
            for i in r.line_items
        ],
        estimated=r.estimated,
    )


def upload_json(u: pb.Upload) -> dict[str, Any]:
    return Upload(
        id=u.id,
        filename=u.filename,
        size=u.size,
        content_type=u.content_type,
        platform=u.platform,
        status=u.status,
        parser=u.parser,
        records_preview=[_record(r) for r in u.records_preview],
        record_count=u.record_count,
        total_cost_usd=u.total_cost_usd,
        warnings=list(u.warnings),
        columns_used=dict(u.columns_used),
        records_imported=u.records_imported if u.status == "imported" else None,
        error=u.error or None,
        created_at=u.created_at or None,
        imported_at=u.imported_at or None,
    ).dump()


def _upload_id(raw: str) -> str:
    if not _UPLOAD_ID.fullmatch(raw):
        raise Problem(404, "upload not found", kind="not-found")
    return raw


def _too_large() -> Problem:
    return Problem(413, f"the file is larger than {_MB} MB", kind="file-too-large")


def _field_problem(field: str, message: str) -> Problem:
    return Problem(400, message, kind="validation", errors=[{"field": field, "message": message}])


def _read_upload() -> tuple[str, bytes, str]:
    if request.mimetype != "multipart/form-data":
        raise Problem(
            415, "send the file as multipart/form-data with a 'file' field", kind="unsupported-media-type"
        )
    if (request.content_length or 0) > UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD:
        raise _too_large()  # refused before a byte of the body is read
    request.max_content_length = UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD  # also bounds chunked bodies
    upload = request.files.get("file")
    if upload is None:
        raise _field_problem("file", "attach the billing file as the 'file' field")
    platform = (request.form.get("platform") or "").strip()
    if platform and not _PLATFORM.fullmatch(platform):
        raise _field_problem(
            "platform", "platform must be a platform id such as 'openai' (GET /v1/platforms)"
        )
    data = upload.stream.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        raise _too_large()
    return upload.filename or "", data, platform


@bp.post("/v1/uploads")
@body_limit(LARGE)
@require_account
def create_upload():
    filename, data, platform = _read_upload()
    # The parser asks auth for the plan (AI parsing) and refuses unverified accounts.
    message = pb.CreateUploadRequest(
        account_id=g.account_id, filename=filename, content=data, platform=platform
    )
    reply = _parser_call("CreateUpload", message, timeout=UPLOAD_TIMEOUT_S)
    response = jsonify(upload=upload_json(reply.upload))
    response.status_code = 202
    response.headers["Location"] = f"/v1/uploads/{reply.upload.id}"
    return response


class ListQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description=f"Page size (max {MAX_PAGE})")
    cursor: str = Field(default="", max_length=512, description="next_cursor of the previous page")


@bp.get("/v1/uploads")
@require_account
@query(ListQuery)
def list_uploads(query: ListQuery):
    reply = _parser_call(
        "ListUploads", pb.ListUploadsRequest(account_id=g.account_id, limit=query.limit, cursor=query.cursor)
    )
    return jsonify(items=[upload_json(u) for u in reply.uploads], next_cursor=reply.next_cursor or None)


@bp.get("/v1/uploads/<upload_id>")
@require_account
def get_upload(upload_id: str):
    message = pb.GetUploadRequest(account_id=g.account_id, upload_id=_upload_id(upload_id))
    return jsonify(upload=upload_json(_parser_call("GetUpload", message).upload))


@bp.post("/v1/uploads/<upload_id>/import")
@require_account
def import_upload(upload_id: str):
    message = pb.ImportUploadRequest(account_id=g.account_id, upload_id=_upload_id(upload_id))
    return jsonify(upload=upload_json(_parser_call("ImportUpload", message, timeout=IMPORT_TIMEOUT_S).upload))


@bp.delete("/v1/uploads/<upload_id>")
@require_account
def delete_upload(upload_id: str):
    message = pb.DeleteUploadRequest(account_id=g.account_id, upload_id=_upload_id(upload_id))
    _parser_call("DeleteUpload", message, timeout=DELETE_TIMEOUT_S)
    return "", 204
