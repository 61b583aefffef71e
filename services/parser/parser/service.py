"""gRPC servicer for aicosts.parser.v1: translates protos to domain calls."""

from __future__ import annotations

from aicosts.parser.v1 import parser_pb2, parser_pb2_grpc
from svccommon.runner import info_response

from parser.config import Config


class ParserServicer(parser_pb2_grpc.ParserServiceServicer):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method name)
        return info_response(parser_pb2.GetServiceInfoResponse, self.cfg.common)
