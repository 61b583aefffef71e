"""Usage: start a sync of a credential, follow sync runs, and read the account's daily usage
(summary, record pages, CSV export). Everything is scoped to the caller's account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from aicosts.usage.v1 import usage_pb2 as pb
from flask import Blueprint, Response, current_app, g, jsonify, stream_with_context
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.api.usage_models import (
    LineItem,
    MonthToDate,
    Others,
    PeriodTotal,
    SyncRun,
    UsageGroup,
    UsageRecord,
    UsageSummary,
)
from gateway.api.usage_openapi import OPENAPI_PATHS  # noqa: F401 (module contract)
from gateway.authn import require_account
from gateway.jsonfmt import timestamp
from gateway.openapi import body, query

bp = Blueprint("usage", __name__)

EXPORT_TIMEOUT_S = 300.0  # the whole CSV stream; each page of records is read inside it
# Summaries answer in milliseconds from the usage service's cache, but the first one of an
# account stored before day rollups existed builds them, and record pages scan: queries get more
# than the default backend deadline.
QUERY_TIMEOUT_S = 60.0
_MAX_LIST_VALUES = 50


def _usage():
    return current_app.extensions["backends"]["usage"]


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("must be a day as YYYY-MM-DD") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Day = Annotated[str, Field(json_schema_extra={"format": "date"})]


class _Days(_Strict):
    """Inclusive UTC days ``from`` and ``to`` (``from`` is a Python keyword, hence the alias)."""

    from_: Day | None = Field(
        default=None,
        alias="from",
        description="First day (inclusive); default 29 days before `to`, at most the plan's history back",
    )
    to: Day | None = Field(default=None, description="Last day (inclusive); default today (UTC)")

    @field_validator("from_", "to")
    @classmethod
    def _valid_day(cls, value: str | None) -> str | None:
        return _day(value)


class SyncBody(_Days):
    pass


def _list_field(description: str) -> Any:
    return Field(default_factory=list, max_length=_MAX_LIST_VALUES, description=description)


class RangeQuery(_Days):
    # An empty value alone is a real filter: billing files, or money the provider does not attribute.
    KEEP_EMPTY: ClassVar[tuple[str, ...]] = ("credential_id", "project", "api_key")

    platform: list[str] = _list_field("Platform ids, comma-separated or repeated")
    model: list[str] = _list_field("Model names, comma-separated or repeated")
    source: Literal["api", "file"] | None = Field(default=None, description="api or file")
    credential_id: list[str] = _list_field("Key ids, comma-separated or repeated (empty: billing files)")
    # The provider's attribution (docs/providers.md).
    project: list[str] = _list_field("The provider's project/workspace ids (empty: unattributed money)")
    api_key: list[str] = _list_field("The provider's API key ids (empty: unattributed money)")

    def filter(self) -> pb.UsageFilter:
        return pb.UsageFilter(
            from_date=self.from_ or "",
            to_date=self.to or "",
            platforms=self.platform,
            models=self.model,
            source=self.source or "",
            credential_ids=self.credential_id,
            projects=self.project,
            api_keys=self.api_key,
        )


GroupField = Literal["day", "platform", "model", "source", "credential_id", "project", "api_key"]


class SummaryQuery(RangeQuery):
    group_by: list[GroupField] = Field(
        default_factory=list,
        max_length=7,
        description="Ordered, comma-separated or repeated: day, platform, model, source, credential_id, "
        "project, api_key",
    )
    top: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Keep the N costliest groups (most expensive first) and fold the rest into `others`",
    )


def _drop(properties: dict[str, Any], name: str) -> None:
    properties.pop(name, None)


class MonthToDateQuery(RangeQuery):
    """The month to ``to`` (default today); ``from`` is not taken."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _drop(schema["properties"], "from"))

    from_: None = Field(default=None, alias="from")
    to: Day | None = Field(default=None, description="The day the month runs to; default today (UTC)")


class _Page(_Strict):
    limit: int = Field(default=100, ge=1, le=500, description="Page size (max 500)")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")


class RecordsQuery(RangeQuery, _Page):
    pass


class ExportQuery(RangeQuery):
    format: Literal["csv"] = "csv"


class RunsQuery(_Page):
    credential_id: str | None = Field(default=None, max_length=128, description="Only this credential's runs")
    limit: int = Field(default=50, ge=1, le=500, description="Page size (max 500)")


def sync_run_json(run: pb.SyncRun) -> dict[str, Any]:
    return SyncRun(
        id=run.id,
        credential_id=run.credential_id,
        platform=run.platform,
        status=run.status,
        reason=run.reason,
        from_=run.from_date,
        to=run.to_date,
        days=run.days,
        days_total=run.days_total,
        records=run.records,
        error=run.error or None,
        failed_days=[{"date": f.date, "error": f.error} for f in run.failed_days],
        unavailable_days=[
            {"from": u.from_date, "to": u.to_date, "reason": u.reason} for u in run.unavailable_days
        ],
        kept_days=[{"date": k.date, "reason": k.error} for k in run.kept_days],
        notice=run.notice or None,
        queued_at=timestamp(run, "queued_at"),
        started_at=timestamp(run, "started_at"),
        finished_at=timestamp(run, "finished_at"),
    ).dump()


def record_json(r: pb.UsageRecord) -> dict[str, Any]:
    return UsageRecord(
        date=r.date,
        platform=r.platform,
        model=r.model,
        source=r.source,
        cost_usd=r.cost_usd,
        units=dict(sorted(r.units.items())),
        line_items=[
            LineItem(name=i.name, quantity=i.quantity or None, unit=i.unit, cost_usd=i.cost_usd)
            for i in r.line_items
        ],
        provisional=r.provisional,
        estimated=r.estimated,
        credential_id=r.credential_id or None,
        upload_id=r.upload_id or None,
        project=r.project or None,
        api_key=r.api_key or None,
        warnings=list(r.warnings),
        synced_at=timestamp(r, "synced_at"),
    ).dump()


@bp.post("/v1/credentials/<credential_id>/sync")
@require_account
@body(SyncBody, optional=True)
def start_sync(credential_id: str, body: SyncBody):
    # usage applies the plan (asking auth): history, and keys whose syncs a downgrade paused.
    message = pb.StartSyncRequest(
        account_id=g.account_id,
        credential_id=credential_id[:200],
        from_date=body.from_ or "",
        to_date=body.to or "",
        reason="manual",
    )
    reply = _usage().call("StartSync", message)
    response = jsonify(sync_run=sync_run_json(reply.run))
    response.status_code = 202
    response.headers["Location"] = f"/v1/sync-runs/{reply.run.id}"
    return response


@bp.get("/v1/sync-runs")
@require_account
@query(RunsQuery)
def list_sync_runs(query: RunsQuery):
    reply = _usage().call(
        "ListSyncRuns",
        pb.ListSyncRunsRequest(
            account_id=g.account_id,
            credential_id=query.credential_id or "",
            limit=query.limit,
            cursor=query.cursor or "",
        ),
    )
    return jsonify(items=[sync_run_json(r) for r in reply.runs], next_cursor=reply.next_cursor or None)


@bp.get("/v1/sync-runs/<run_id>")
@require_account
def get_sync_run(run_id: str):
    reply = _usage().call("GetSyncRun", pb.GetSyncRunRequest(account_id=g.account_id, run_id=run_id[:200]))
    return jsonify(sync_run=sync_run_json(reply.run))


@bp.get("/v1/usage/summary")
@require_account
@query(SummaryQuery)
def usage_summary(query: SummaryQuery):
    reply = _usage().call(
        "GetUsageSummary",
        pb.GetUsageSummaryRequest(
            account_id=g.account_id, filter=query.filter(), group_by=query.group_by, top=query.top
        ),
        timeout=QUERY_TIMEOUT_S,
    )
    summary = UsageSummary(
        from_=reply.from_date,
        to=reply.to_date,
        currency=reply.currency,
        total_cost_usd=reply.total_cost_usd,
        units=dict(sorted(reply.units.items())),
        records=reply.records,
        provisional=reply.provisional,
        estimated=reply.estimated,
        groups=[_group(group, query.group_by) for group in reply.groups],
        **({"others": _others(reply)} if query.top else {}),  # absent without top
    )
    return jsonify(summary.dump())


def _others(reply: pb.GetUsageSummaryResponse) -> Others | None:
    return Others(groups=reply.others_groups, **_totals(reply.others)) if reply.others_groups else None


def _totals(group: pb.UsageGroup | pb.PeriodTotal) -> dict[str, Any]:
    return {
        "cost_usd": group.cost_usd,
        "units": dict(sorted(group.units.items())),
        "records": group.records,
        "provisional": group.provisional,
        "estimated": group.estimated,
    }


def _group(group: pb.UsageGroup, names: Sequence[str]) -> UsageGroup:
    keys: dict[str, Any] = {name: getattr(group, name) for name in names}
    for name in ("project", "api_key"):
        if name in names:  # the provider's current name of the id (null: none known, or unattributed)
            keys[f"{name}_name"] = getattr(group, f"{name}_name") or None
    return UsageGroup(**keys, **_totals(group))


def _period(period: pb.PeriodTotal) -> PeriodTotal:
    return PeriodTotal(from_=period.from_date, to=period.to_date, **_totals(period))


@bp.get("/v1/usage/month-to-date")
@require_account
@query(MonthToDateQuery)
def usage_month_to_date(query: MonthToDateQuery):
    reply = _usage().call(
        "GetMonthToDate",
        pb.GetMonthToDateRequest(account_id=g.account_id, filter=query.filter(), as_of=query.to or ""),
        timeout=QUERY_TIMEOUT_S,
    )
    answer = MonthToDate(
        currency=reply.currency,
        current=_period(reply.current),
        previous=_period(reply.previous),
        change_usd=reply.change_usd,
        change_ratio=reply.change_ratio or None,
    )
    return jsonify(answer.dump())


@bp.get("/v1/usage/records")
@require_account
@query(RecordsQuery)
def usage_records(query: RecordsQuery):
    reply = _usage().call(
        "ListRecords",
        pb.ListRecordsRequest(
            account_id=g.account_id, filter=query.filter(), limit=query.limit, cursor=query.cursor or ""
        ),
        timeout=QUERY_TIMEOUT_S,
    )
    return jsonify(items=[record_json(r) for r in reply.records], next_cursor=reply.next_cursor or None)


@bp.get("/v1/usage/export")
@require_account
@query(ExportQuery)
def usage_export(query: ExportQuery):
    stream = _usage().call(
        "ExportRecords",
        pb.ExportRecordsRequest(account_id=g.account_id, filter=query.filter()),
        timeout=EXPORT_TIMEOUT_S,
    )
    # The first chunk is read before answering, so a bad range still becomes a problem+json.
    first = next(stream, None)

    def body():
        if first is not None:
            yield first.chunk
        for part in stream:
            yield part.chunk

    dates = f"-{query.from_}-to-{query.to}" if query.from_ and query.to else ""
    name = f"aicosts-usage{dates}.csv"
    response = Response(stream_with_context(body()), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8; header=present"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
