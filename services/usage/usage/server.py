"""Wiring only: which servicers this process serves and which services may call each method."""

from __future__ import annotations

from aicosts.usage.v1 import usage_pb2, usage_pb2_grpc
from pymongo.database import Database
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from usage.config import Config
from usage.service import UsageServicer

SERVICE = usage_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name


def allowlist() -> dict[str, tuple[str, ...]]:
    return {
        f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,),
    }


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    servicer = UsageServicer(cfg)
    return [
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: usage_pb2_grpc.add_UsageServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
        )
    ]
