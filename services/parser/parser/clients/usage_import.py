"""Records to the usage service (the parser's only outgoing gRPC call): ImportRecords on import,
DeleteImportedRecords when an imported upload is deleted."""

from __future__ import annotations

import logging

import grpc
from aicosts.usage.v1 import usage_pb2, usage_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles

from parser.problems import ImportFailed, Unreadable
from parser.records import Record

log = logging.getLogger(__name__)

SERVICE = "aicosts.usage.v1.UsageService"
# Deleting is idempotent; importing replaces by key, so it is safe to retry as well.
RETRY_SAFE = ("ImportRecords", "DeleteImportedRecords")
_REFUSED = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
)


def to_input(record: Record) -> usage_pb2.RecordInput:
    return usage_pb2.RecordInput(
        platform=record.platform,
        date=record.date.isoformat(),
        model=record.model,
        cost_usd=str(record.cost_usd),
        units=record.units,
        line_items=[
            usage_pb2.LineItemInput(
                name=item.name,
                quantity="" if item.quantity is None else str(item.quantity),
                unit=item.unit,
                cost_usd=str(item.cost_usd),
            )
            for item in record.line_items
        ],
        estimated=record.estimated,
    )


class UsageImporter:
    def __init__(self, target: str, tls: TlsFiles, timeout_s: float) -> None:
        self.backend = Backend(
            secure_channel(target, tls, SERVICE, RETRY_SAFE), usage_pb2_grpc.UsageServiceStub, timeout_s
        )

    def import_records(self, account_id: str, upload_id: str, records: list[Record]) -> int:
        request = usage_pb2.ImportRecordsRequest(
            account_id=account_id, upload_id=upload_id, records=[to_input(r) for r in records]
        )
        return int(self._call("ImportRecords", request).imported)

    def delete_imported(self, account_id: str, upload_id: str) -> int:
        request = usage_pb2.DeleteImportedRecordsRequest(account_id=account_id, upload_id=upload_id)
        return int(self._call("DeleteImportedRecords", request).deleted)

    def _call(self, method: str, request):
        try:
            return self.backend.call(method, request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            log.warning("usage call failed", extra={"method": method, "grpc_code": code.name})
            if code in _REFUSED:
                details = exc.details() if hasattr(exc, "details") else ""
                raise Unreadable(
                    f"the usage service refused the records: {details or 'invalid records'}"
                ) from None
            raise ImportFailed(
                "the usage service did not answer; try again shortly (repeating is safe)"
            ) from None
