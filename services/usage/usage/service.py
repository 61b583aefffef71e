"""gRPC servicer for aicosts.usage.v1: translates protos to domain calls."""

from __future__ import annotations

from aicosts.usage.v1 import usage_pb2, usage_pb2_grpc
from svccommon.runner import info_response

from usage.config import Config


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method name)
        return info_response(usage_pb2.GetServiceInfoResponse, self.cfg.common)
