"""Wiring only: stores, keyvault client, sync engine, servicer, and who may call each method."""

from __future__ import annotations

from dataclasses import dataclass

from aicosts.usage.v1 import usage_pb2, usage_pb2_grpc
from pymongo.database import Database
from svccommon.audit_service import audit_binding, open_audit_log
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE

from usage.accountplans import AccountPlans
from usage.config import Config
from usage.connectors import Connector, HttpClient, connector_for
from usage.credentials import Credentials, KeyvaultCredentials
from usage.engine import SyncEngine
from usage.imports import RecordImporter
from usage.planstore import PlanStore
from usage.queries import UsageQueries
from usage.recordstore import RecordStore
from usage.runstore import RunStore, now_ms
from usage.service import UsageServicer
from usage.summarycache import SummaryCache
from usage.syncjob import SyncJob
from usage.syncs import SyncController

SERVICE = usage_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name
GATEWAY_METHODS = (
    "StartSync",
    "GetSyncRun",
    "ListSyncRuns",
    "ForgetCredential",
    "SetAccountPlan",
    "GetUsageSummary",
    "GetMonthToDate",
    "ListRecords",
    "ExportRecords",
)
PARSER_METHODS = ("ImportRecords", "DeleteImportedRecords")


def allowlist() -> dict[str, tuple[str, ...]]:
    rules: dict[str, tuple[str, ...]] = {f"/{SERVICE}/GetServiceInfo": (ANY_SERVICE,)}
    rules.update({f"/{SERVICE}/{m}": ("gateway",) for m in GATEWAY_METHODS})
    rules.update({f"/{SERVICE}/{m}": ("parser",) for m in PARSER_METHODS})
    return rules


def connector_factory(cfg: Config):  # noqa: ANN201 (a ConnectorFactory)
    settings = cfg.provider_http

    def make(platform: str) -> Connector:
        http = HttpClient(
            timeout=(5.0, settings.timeout_s),
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_s,
            retry_after_max=settings.retry_after_max_s,
        )
        return connector_for(platform, http=http, env=cfg.provider_base_urls)

    return make


@dataclass
class UsageApp:
    bindings: list[ServiceBinding]
    engine: SyncEngine


def build(cfg: Config, db: Database, credentials: Credentials | None = None) -> UsageApp:
    records, runs = RecordStore(db), RunStore(db)
    records.ensure_indexes()
    runs.ensure_indexes()
    audit = open_audit_log(db, cfg.common)
    credentials = credentials or KeyvaultCredentials.connect(cfg.keyvault_addr, cfg.common.tls)
    make_connector = connector_factory(cfg)
    engine = SyncEngine(
        runs,
        lambda owner, stopping: SyncJob(
            runs, records, credentials, make_connector, owner, now_ms, stopping, audit=audit
        ),
        workers=cfg.sync_workers,
        interval_s=cfg.sync_interval_s,
        stale_s=cfg.sync_stale_s,
        clock=now_ms,
    )
    plans = AccountPlans(PlanStore(db), credentials, now_ms)
    syncs = SyncController(
        runs, records, credentials, now_ms, cfg.sync_interval_s, engine.wake, audit=audit, plans=plans
    )
    importer = RecordImporter(records, now_ms, audit=audit)
    cache = SummaryCache(records.rollup_store, records.rollups, records, cfg.summary_cache_entries)
    servicer = UsageServicer(cfg, syncs, UsageQueries(records, now_ms, cache), importer)
    binding = ServiceBinding(
        full_name=SERVICE,
        register=lambda server: usage_pb2_grpc.add_UsageServiceServicer_to_server(servicer, server),
        allowlist=allowlist(),
    )
    return UsageApp([audit_binding(audit), binding], engine)


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    """The servicer alone (no background work): for tools and tests that only serve RPCs."""
    return build(cfg, db).bindings
