"""Wiring only: which servicers this process serves and which services may call each method."""

from __future__ import annotations

from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from pymongo.database import Database
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from auth.config import Config
from auth.service import AuthServicer

SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


def allowlist() -> dict[str, tuple[str, ...]]:
    return {
        f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,),
    }


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    servicer = AuthServicer(cfg)
    return [
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
        )
    ]
