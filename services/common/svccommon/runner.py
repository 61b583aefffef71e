"""The shape of every service's main(): config, logging, database, indexes, serve."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from aicosts.common.v1 import service_info_pb2
from pymongo.database import Database

from svccommon import logs, mongo
from svccommon.config import CommonConfig, load_or_exit
from svccommon.grpcserver import ServiceBinding, serve
from svccommon.release import version

C = TypeVar("C")


def info_response(cfg: CommonConfig) -> service_info_pb2.GetServiceInfoResponse:
    """Every service's GetServiceInfo answer (the shared message in aicosts.common.v1)."""
    return service_info_pb2.GetServiceInfoResponse(service=cfg.service, version=version(), region=cfg.region)


def run_service(
    load_config: Callable[[], C],
    common_of: Callable[[C], CommonConfig],
    make_bindings: Callable[[C, Database], Sequence[ServiceBinding]],
    max_message_bytes: int = 4 * 1024 * 1024,
) -> None:
    cfg = load_or_exit(load_config)
    common = common_of(cfg)
    logs.configure(common.service, common.log_level)
    db = mongo.connect(common)
    bindings = make_bindings(cfg, db)  # services create their indexes here, before serving
    serve(
        common,
        bindings,
        on_stop=db.client.close,
        max_message_bytes=max_message_bytes,
        ready_probe=mongo.ping_probe(common),
    )
