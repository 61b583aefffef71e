"""Wiring only: storage, store, parsers, the OpenAI client (when configured), the usage client,
the account client (auth), the servicer, and which services may call each method."""

from __future__ import annotations

import datetime as dt
import logging

from aicosts.parser.v1 import parser_pb2, parser_pb2_grpc
from pymongo.database import Database
from svccommon.accountinfo import AccountInfo
from svccommon.audit import AuditLog
from svccommon.audit_service import audit_binding, open_audit_log
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from parser.ai.extract import Extractor
from parser.clients.usage_import import UsageImporter
from parser.config import Config
from parser.importrecovery import ImportRecovery
from parser.parse import Parser
from parser.service import ParserServicer
from parser.storage import LocalStorage
from parser.store import UploadStore
from parser.uploads import Uploads

log = logging.getLogger(__name__)

SERVICE = parser_pb2.DESCRIPTOR.services_by_name["ParserService"].full_name
GATEWAY_METHODS = ("CreateUpload", "GetUpload", "ListUploads", "ImportUpload", "DeleteUpload")


def allowlist() -> dict[str, tuple[str, ...]]:
    rules: dict[str, tuple[str, ...]] = {f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,)}
    rules.update({f"/{SERVICE}/{m}": ("gateway",) for m in GATEWAY_METHODS})
    return rules


def build_uploads(cfg: Config, db: Database, audit: AuditLog | None = None) -> Uploads:
    store = UploadStore(db)
    store.ensure_indexes()
    extractor = Extractor(cfg.openai) if cfg.openai.configured else None
    log.info(
        "parser ready",
        extra={"ai_parsing": extractor is not None, "openai_model": cfg.openai.model if extractor else None},
    )
    return Uploads(
        store=store,
        storage=LocalStorage(cfg.upload_dir),
        parser=Parser(cfg.limits, extractor, cfg.openai.max_input_chars),
        importer=UsageImporter(cfg.usage_addr, cfg.common.tls, cfg.usage_timeout_s),
        limits=cfg.limits,
        ai_daily_limit=cfg.openai.daily_limit_per_account,
        audit=audit,
        # auth decides AI parsing (the plan) and who may upload (verified): no stand-in when it is down
        standing_of=AccountInfo.connect(cfg.auth_addr, cfg.common.tls).standing_of,
    )


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    audit = open_audit_log(db, cfg.common)
    uploads = build_uploads(cfg, db, audit)
    servicer = ParserServicer(cfg, uploads)
    # An import older than the usage call's deadline (and a margin) has ended one way or the other.
    recovery = ImportRecovery(uploads, grace=dt.timedelta(seconds=cfg.usage_timeout_s + 5))
    recovery.start()
    return [
        audit_binding(audit),
        ServiceBinding(
            full_name=SERVICE,
            register=lambda server: parser_pb2_grpc.add_ParserServiceServicer_to_server(servicer, server),
            allowlist=allowlist(),
            on_drained=recovery.stop,
        ),
    ]
