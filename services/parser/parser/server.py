"""Wiring only: which servicers this process serves and which services may call each method."""

from __future__ import annotations

from aicosts.parser.v1 import parser_pb2, parser_pb2_grpc
from pymongo.database import Database
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from parser.config import Config
from parser.service import ParserServicer

SERVICE = parser_pb2.DESCRIPTOR.services_by_name["ParserService"].full_name


def allowlist() -> dict[str, tuple[str, ...]]:
    return {
        f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,),
    }


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    servicer = ParserServicer(cfg)
    return [
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: parser_pb2_grpc.add_ParserServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
        )
    ]
