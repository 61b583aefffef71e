"""Wiring only: stores, keyvault client, sync engine, servicer, and who may call each method."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from aicosts.usage.v1 import usage_pb2, usage_pb2_grpc
from pymongo.database import Database
from svccommon.accountinfo import AccountInfo
from svccommon.audit_service import audit_binding, open_audit_log
from svccommon.grpcserver import ServiceBinding
from svccommon.interceptors import ANY_SERVICE
from svccommon.plans import Plan

from usage import outbound
from usage.accountplans import AccountPlans
from usage.alerts.alertstore import AlertStore
from usage.alerts.budgetstore import BudgetStore
from usage.alerts.commands import AlertCommands
from usage.alerts.deliverystore import DeliveryStore
from usage.alerts.destinationstore import DestinationStore
from usage.alerts.dispatcher import Dispatcher
from usage.alerts.evalqueue import EvaluationQueue
from usage.alerts.evaluator import Evaluator
from usage.alerts.sender import Sender
from usage.alerts.settingsstore import SettingsStore
from usage.clients.auth_mail import AlertMailer, AuthAlertMailer
from usage.clients.auth_plan_changes import PlanChangesFromAuth
from usage.clients.keyvault_credentials import Credentials, KeyvaultCredentialChanges, KeyvaultCredentials
from usage.clients.keyvault_sealing import DestinationSecrets
from usage.config import Config
from usage.connectors import Connector, HttpClient, connector_for
from usage.cursorstore import CursorStore
from usage.engine import SyncEngine
from usage.imports import RecordImporter
from usage.planstore import PlanStore
from usage.queries import UsageQueries
from usage.reconciler import Reconciler, ReconcilerLoop
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
    "GetUsageSummary",
    "GetMonthToDate",
    "ListRecords",
    "ExportRecords",
    "CreateBudget",
    "UpdateBudget",
    "GetBudget",
    "ListBudgets",
    "DeleteBudget",
    "CreateDestination",
    "ListDestinations",
    "DeleteDestination",
    "TestDestination",
    "ListDeliveries",
    "ListAlerts",
    "AcknowledgeAlert",
    "MuteAlert",
    "GetAlertSettings",
    "UpdateAlertSettings",
    "GetForecast",
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
    alerts: Dispatcher
    reconciler: ReconcilerLoop

    def start(self) -> None:
        self.engine.start()
        self.alerts.start()
        self.reconciler.start()

    def stop(self) -> None:
        self.reconciler.stop()
        self.alerts.stop()
        self.engine.stop()


@dataclass
class AlertParts:
    commands: AlertCommands
    dispatcher: Dispatcher


def build_alerts(
    cfg: Config,
    db: Database,
    queries: UsageQueries,
    plan_of: Callable[[str], Plan],
    audit,
    mailer: AlertMailer | None = None,  # noqa: ANN001
) -> AlertParts:
    budgets, alerts, deliveries = BudgetStore(db), AlertStore(db), DeliveryStore(db)
    destinations, settings, queue = DestinationStore(db), SettingsStore(db), EvaluationQueue(db)
    for store in (budgets, alerts, deliveries, destinations, settings, queue):
        store.ensure_indexes()
    policy = outbound.OutboundPolicy(allow_local_http=cfg.alerts_allow_local_http)
    secrets = DestinationSecrets.connect(cfg.keyvault_addr, cfg.common.tls)
    mailer = mailer or AuthAlertMailer.connect(cfg.auth_addr, cfg.common.tls)

    evaluator = Evaluator(
        budgets=budgets,
        alerts=alerts,
        deliveries=deliveries,
        destinations=destinations,
        settings=settings,
        queries=queries,
        plan_of=plan_of,
        clock=now_ms,
        audit=audit,
    )
    dispatcher = Dispatcher(
        queue=queue,
        evaluator=evaluator,
        deliveries=deliveries,
        alerts=alerts,
        destinations=destinations,
        budgets=budgets,
        settings=settings,
        sender=Sender(mailer, secrets, destinations, policy, now_ms),
        clock=now_ms,
        audit=audit,
    )
    commands = AlertCommands(
        budgets=budgets,
        destinations=destinations,
        alerts=alerts,
        deliveries=deliveries,
        settings=settings,
        secrets=secrets,
        queries=queries,
        plan_of=plan_of,
        policy=policy,
        changed=dispatcher.changed,
        attempt_now=lambda delivery: dispatcher.attempt(delivery, retry=False),  # a test: sent once
        owner=dispatcher.owner,
        clock=now_ms,
        audit=audit,
    )
    return AlertParts(commands, dispatcher)


def build(cfg: Config, db: Database, credentials: Credentials | None = None) -> UsageApp:
    records, runs = RecordStore(db), RunStore(db)
    records.ensure_indexes()
    runs.ensure_indexes()
    audit = open_audit_log(db, cfg.common)
    credentials = credentials or KeyvaultCredentials.connect(cfg.keyvault_addr, cfg.common.tls)
    make_connector = connector_factory(cfg)
    cache = SummaryCache(records.rollup_store, records.rollups, records, cfg.summary_cache_entries)
    queries = UsageQueries(records, now_ms, cache)
    plan_store = PlanStore(db)
    # auth owns plans; while it does not answer, the plan usage last heard of stands in (alerts keep
    # evaluating, syncs keep their history); never heard of: unavailable, not a guess.
    plan_of = AccountInfo.connect(cfg.auth_addr, cfg.common.tls, fallback=plan_store.plan_of).plan_of
    alerting = build_alerts(cfg, db, queries, plan_of, audit)
    engine = SyncEngine(
        runs,
        lambda owner, stopping: SyncJob(
            runs,
            records,
            credentials,
            make_connector,
            owner,
            now_ms,
            stopping,
            audit=audit,
            on_changed=alerting.dispatcher.changed,
            retry_after_failure=dt.timedelta(seconds=cfg.sync_retry_s),
        ),
        workers=cfg.sync_workers,
        interval_s=cfg.sync_interval_s,
        stale_s=cfg.sync_stale_s,
        clock=now_ms,
    )
    plans = AccountPlans(plan_store, credentials, now_ms)
    syncs = SyncController(
        runs,
        records,
        credentials,
        now_ms,
        cfg.sync_interval_s,
        engine.wake,
        audit=audit,
        plans=plans,
        plan_of=plan_of,
    )
    importer = RecordImporter(records, now_ms, audit=audit, on_changed=alerting.dispatcher.changed)
    servicer = UsageServicer(cfg, syncs, queries, importer, alerting.commands, plan_of=plan_of)
    binding = ServiceBinding(
        full_name=SERVICE,
        register=lambda server: usage_pb2_grpc.add_UsageServiceServicer_to_server(servicer, server),
        allowlist=allowlist(),
    )
    return UsageApp(
        [audit_binding(audit), binding], engine, alerting.dispatcher, build_reconciler(cfg, db, syncs)
    )


def build_reconciler(cfg: Config, db: Database, syncs: SyncController) -> ReconcilerLoop:
    """usage drives the second step of key and plan workflows from keyvault's and auth's feeds."""
    assert syncs.plans is not None
    cursors = CursorStore(db, now_ms)
    cursors.ensure_indexes()
    reconciler = Reconciler(
        credential_changes=KeyvaultCredentialChanges.connect(cfg.keyvault_addr, cfg.common.tls),
        plan_changes=PlanChangesFromAuth.connect(cfg.auth_addr, cfg.common.tls),
        cursors=cursors,
        syncs=syncs,
        plans=syncs.plans,
        overlap=dt.timedelta(seconds=cfg.reconcile_overlap_s),
    )
    return ReconcilerLoop(reconciler, cfg.reconcile_interval_s)


def bindings(cfg: Config, db: Database) -> list[ServiceBinding]:
    """The servicer alone (no background work): for tools and tests that only serve RPCs."""
    return build(cfg, db).bindings
