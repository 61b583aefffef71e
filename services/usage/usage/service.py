"""gRPC servicer for aicosts.usage.v1: translates protos to domain calls."""

from __future__ import annotations

from collections.abc import Callable

from aicosts.usage.v1 import usage_pb2 as pb
from aicosts.usage.v1 import usage_pb2_grpc
from svccommon.plans import Plan
from svccommon.runner import info_response

from usage import convert, limits, plangates
from usage.alerts.commands import AlertCommands
from usage.alerts.servicer import AlertMethods
from usage.config import Config
from usage.imports import RecordImporter
from usage.queries import UsageQueries
from usage.recordstore import RecordFilter
from usage.syncs import SyncController, check_id


class UsageServicer(AlertMethods, usage_pb2_grpc.UsageServiceServicer):
    def __init__(
        self,
        cfg: Config,
        syncs: SyncController,
        queries: UsageQueries,
        importer: RecordImporter,
        alert_commands: AlertCommands | None = None,
        *,
        plan_of: Callable[[str], Plan],  # the account's plan from auth (svccommon.accountinfo)
    ) -> None:
        self.plan_of = plan_of
        self.alert_commands = alert_commands
        self.cfg = cfg
        self.syncs = syncs
        self.queries = queries
        self.importer = importer

    def GetServiceInfo(self, request, context):  # noqa: N802 (gRPC method names)
        return info_response(self.cfg.common)

    # --- sync runs ---------------------------------------------------------------

    def StartSync(self, request, context):  # noqa: N802
        run = self.syncs.start(
            request.account_id,
            request.credential_id,
            request.from_date,
            request.to_date,
            request.reason,
        )
        return pb.StartSyncResponse(run=convert.sync_run(run))

    def GetSyncRun(self, request, context):  # noqa: N802
        return pb.GetSyncRunResponse(run=convert.sync_run(self.syncs.get(request.account_id, request.run_id)))

    def ListSyncRuns(self, request, context):  # noqa: N802
        runs, cursor = self.syncs.list(
            request.account_id, request.credential_id, request.limit, request.cursor
        )
        return pb.ListSyncRunsResponse(runs=[convert.sync_run(r) for r in runs], next_cursor=cursor)

    def ForgetCredential(self, request, context):  # noqa: N802
        cancelled, deleted = self.syncs.forget(
            request.account_id, request.credential_id, request.delete_records
        )
        return pb.ForgetCredentialResponse(cancelled_runs=cancelled, deleted_records=deleted)

    # --- queries -----------------------------------------------------------------

    def _filter(self, request, days: tuple[str, str] | None = None) -> RecordFilter:  # noqa: ANN001
        """Any request with account_id + filter; ``days`` overrides the filter's range."""
        f = request.filter
        first, last = days or (f.from_date, f.to_date)
        return self.queries.make_filter(
            request.account_id,
            first,
            last,
            list(f.platforms),
            list(f.models),
            f.source,
            list(f.credential_ids),
            list(f.projects),
            list(f.api_keys),
        )

    def GetUsageSummary(self, request, context):  # noqa: N802
        result = self.queries.summary(self._filter(request), list(request.group_by), request.top)
        return convert.summary(result)

    def GetMonthToDate(self, request, context):  # noqa: N802
        # Named "to" in errors: that is the public parameter the gateway passes as as_of.
        as_of = limits.parse_day(request.as_of, "to") if request.as_of else self.queries.clock().date()
        flt = self._filter(request, (as_of.isoformat(), as_of.isoformat()))
        return convert.month_to_date(self.queries.month_to_date(flt, as_of))

    def ListRecords(self, request, context):  # noqa: N802
        docs, cursor = self.queries.page(self._filter(request), request.limit, request.cursor)
        return pb.ListRecordsResponse(records=[convert.usage_record(d) for d in docs], next_cursor=cursor)

    def ExportRecords(self, request, context):  # noqa: N802
        # The plan, then the filter, both before the first chunk is sent.
        plangates.require_export(self.plan_of(check_id(request.account_id, "account_id")))
        flt = self._filter(request)
        for chunk in self.queries.export(flt):
            yield pb.ExportRecordsResponse(chunk=chunk)

    # --- billing files -----------------------------------------------------------

    def ImportRecords(self, request, context):  # noqa: N802
        rows = convert.record_inputs(request.records)
        imported = self.importer.import_upload(request.account_id, request.upload_id, rows)
        return pb.ImportRecordsResponse(imported=imported)

    def DeleteImportedRecords(self, request, context):  # noqa: N802
        deleted = self.importer.delete_upload(request.account_id, request.upload_id)
        return pb.DeleteImportedRecordsResponse(deleted=deleted)
