"""Wiring only: which servicers this process serves and which services may call each method."""

from __future__ import annotations

from aicosts.keyvault.v1 import keyvault_pb2, keyvault_pb2_grpc
from pymongo.database import Database
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from keyvault.config import Config
from keyvault.service import KeyVaultServicer

SERVICE = keyvault_pb2.DESCRIPTOR.services_by_name["KeyVaultService"].full_name


def allowlist() -> dict[str, tuple[str, ...]]:
    return {
        f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,),
    }


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    servicer = KeyVaultServicer(cfg)
    return [
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: keyvault_pb2_grpc.add_KeyVaultServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
        )
    ]
