"""gRPC servicer for aicosts.parser.v1: translates protos to domain calls, and domain problems to
a status code plus trailing metadata naming the HTTP status the gateway should answer with."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aicosts.parser.v1 import parser_pb2 as pb
from aicosts.parser.v1 import parser_pb2_grpc
from svccommon import errors
from svccommon.runner import info_response

from parser.config import Config
from parser.problems import ParserProblem
from parser.uploads import Uploads

# HTTP status → the gRPC error carrying it (the gateway maps codes, metadata refines 413/415/503).
_CODES: dict[int, type[errors.ServiceError]] = {
    400: errors.InvalidArgument,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    413: errors.InvalidArgument,
    415: errors.InvalidArgument,
    422: errors.FailedPrecondition,
    429: errors.ResourceExhausted,
    503: errors.Unavailable,
}
LIST_PREVIEW = 5  # ListUploads: a glimpse per upload


def problems_to_status(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ParserProblem as problem:
            metadata = [("x-problem-status", str(problem.status)), ("x-problem-kind", problem.kind)]
            if retry_after := getattr(problem, "retry_after", None):
                metadata.append(("retry-after", str(retry_after)))
            context.set_trailing_metadata(tuple(metadata))
            raise _CODES.get(problem.status, errors.FailedPrecondition)(problem.message) from None

    return wrapper


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _decimal(value) -> str:
    # Fixed-point, never "4E-7": a parsed 0.0000004 keeps its exponent through Decimal128.
    return format(value.to_decimal(), "f") if value is not None else "0"


def record_message(doc: dict[str, Any]) -> pb.Record:
    return pb.Record(
        platform=doc["platform"],
        date=doc["date"],
        model=doc["model"],
        cost_usd=_decimal(doc["cost_usd"]),
        units={k: int(v) for k, v in doc.get("units", {}).items()},
        line_items=[
            pb.LineItem(
                name=i["name"],
                quantity="" if i.get("quantity") is None else _decimal(i["quantity"]),
                unit=i.get("unit", ""),
                cost_usd=_decimal(i["cost_usd"]),
            )
            for i in doc.get("line_items", [])
        ],
        estimated=bool(doc.get("estimated", False)),
    )


def upload_message(doc: dict[str, Any], preview: int) -> pb.Upload:
    return pb.Upload(
        id=doc["_id"],
        filename=doc["filename"],
        size=int(doc["size"]),
        platform=doc.get("platform", ""),
        status=doc["status"],
        parser=doc.get("parser", ""),
        records_preview=[record_message(r) for r in doc.get("records", [])[:preview]],
        record_count=int(doc.get("record_count", 0)),
        total_cost_usd=_decimal(doc.get("total_cost_usd")),
        records_imported=int(doc.get("records_imported", 0)),
        error=doc.get("error", ""),
        warnings=doc.get("warnings", []),
        columns_used=doc.get("columns_used", {}),
        content_type=doc.get("content_type", ""),
        sha256=doc.get("sha256", ""),
        created_at=_iso(doc.get("created_at")),
        imported_at=_iso(doc.get("imported_at")),
    )


class ParserServicer(parser_pb2_grpc.ParserServiceServicer):
    def __init__(self, cfg: Config, uploads: Uploads) -> None:
        self.cfg = cfg
        self.uploads = uploads
        self.preview = cfg.limits.preview_records

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method name)
        return info_response(self.cfg.common)

    @problems_to_status
    def CreateUpload(self, request, context):  # noqa: N802
        doc = self.uploads.create(request.account_id, request.filename, request.content, request.platform)
        return pb.CreateUploadResponse(upload=upload_message(doc, self.preview))

    @problems_to_status
    def GetUpload(self, request, context):  # noqa: N802
        doc = self.uploads.get(request.account_id, request.upload_id)
        return pb.GetUploadResponse(upload=upload_message(doc, self.preview))

    @problems_to_status
    def ListUploads(self, request, context):  # noqa: N802
        docs, cursor = self.uploads.list(request.account_id, request.limit, request.cursor)
        return pb.ListUploadsResponse(
            uploads=[upload_message(d, LIST_PREVIEW) for d in docs], next_cursor=cursor
        )

    @problems_to_status
    def ImportUpload(self, request, context):  # noqa: N802
        doc = self.uploads.import_(request.account_id, request.upload_id)
        return pb.ImportUploadResponse(upload=upload_message(doc, self.preview))

    @problems_to_status
    def DeleteUpload(self, request, context):  # noqa: N802
        self.uploads.delete(request.account_id, request.upload_id)
        return pb.DeleteUploadResponse()
