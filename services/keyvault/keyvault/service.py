"""gRPC servicer for aicosts.keyvault.v1: translates protos to domain calls."""

from __future__ import annotations

from aicosts.keyvault.v1 import keyvault_pb2, keyvault_pb2_grpc
from svccommon.runner import info_response

from keyvault.config import Config


class KeyVaultServicer(keyvault_pb2_grpc.KeyVaultServiceServicer):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method name)
        return info_response(keyvault_pb2.GetServiceInfoResponse, self.cfg.common)
