"""gRPC servicer for aicosts.auth.v1: translates protos to domain calls."""

from __future__ import annotations

from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from svccommon.runner import info_response

from auth.config import Config


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method name)
        return info_response(auth_pb2.GetServiceInfoResponse, self.cfg.common)
