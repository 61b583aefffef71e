"""Stored documents and domain results → usage.v1 protobuf messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aicosts.usage.v1 import usage_pb2 as pb
from svccommon.pbtime import timestamp
from svccommon.units import canonical_units

from usage.imports import LineInput, RecordInput
from usage.queries import GroupRow, MonthToDate, Period, Summary
from usage.records import format_usd
from usage.recordstore import from_d128, iter_line_items


def sync_run(doc: dict[str, Any]) -> pb.SyncRun:
    return pb.SyncRun(
        id=doc["_id"],
        account_id=doc["account_id"],
        credential_id=doc["credential_id"],
        platform=doc["platform"],
        status=doc["status"],
        reason=doc["reason"],
        from_date=doc["from_date"],
        to_date=doc["to_date"],
        days=doc.get("days", 0),
        days_total=doc.get("days_total", 0),
        records=doc.get("records", 0),
        error=doc.get("error") or "",
        failed_days=[pb.FailedDay(date=f["date"], error=f["error"]) for f in doc.get("failed_days") or ()],
        queued_at=timestamp(doc.get("queued_at")),
        started_at=timestamp(doc.get("started_at")),
        finished_at=timestamp(doc.get("finished_at")),
        unavailable_days=[
            pb.UnavailableDays(from_date=u["from"], to_date=u["to"], reason=u["reason"])
            for u in doc.get("unavailable_days") or ()
        ],
        kept_days=[pb.FailedDay(date=k["date"], error=k["reason"]) for k in doc.get("kept_days") or ()],
        notice=doc.get("notice") or "",
    )


def _quantity(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    return format_usd(Decimal(value))


def usage_record(doc: dict[str, Any]) -> pb.UsageRecord:
    return pb.UsageRecord(
        date=doc["date"],
        platform=doc["platform"],
        model=doc["model"],
        source=doc["source"],
        cost_usd=format_usd(from_d128(doc.get("cost_usd"))),
        # Legacy unit names of older records are translated on read (svccommon.units).
        units={k: int(v) for k, v in canonical_units(doc["platform"], doc.get("units") or {}).items()},
        line_items=[
            pb.LineItem(name=name, quantity=_quantity(qty), unit=unit, cost_usd=format_usd(cost))
            for name, qty, unit, cost in iter_line_items(doc)
        ],
        provisional=bool(doc.get("provisional")),
        estimated=bool(doc.get("estimated")),
        credential_id=doc.get("credential_id") or "",
        project=doc.get("project_id") or "",
        api_key=doc.get("api_key_id") or "",
        upload_id=doc.get("upload_id") or "",
        warnings=list(doc.get("warnings") or ()),
        synced_at=timestamp(doc.get("synced_at")),
    )


def summary(result: Summary) -> pb.GetUsageSummaryResponse:
    total = result.total
    return pb.GetUsageSummaryResponse(
        from_date=result.flt.first.isoformat(),
        to_date=result.flt.last.isoformat(),
        currency="USD",
        total_cost_usd=format_usd(total.cost_usd),
        units=total.units,
        groups=[usage_group(group) for group in result.groups],
        records=total.records,
        others=usage_group(result.others) if result.others else None,
        others_groups=result.others_groups,
        provisional=total.provisional,
        estimated=total.estimated,
    )


def usage_group(group: GroupRow) -> pb.UsageGroup:
    return pb.UsageGroup(
        **group.key,
        **group.names,
        cost_usd=format_usd(group.cost_usd),
        units=group.units,
        records=group.records,
        provisional=group.provisional,
        estimated=group.estimated,
    )


def month_to_date(result: MonthToDate) -> pb.GetMonthToDateResponse:
    ratio = result.change_ratio
    return pb.GetMonthToDateResponse(
        currency="USD",
        current=period(result.current),
        previous=period(result.previous),
        change_usd=format_usd(result.change_usd),
        change_ratio="" if ratio is None else format_usd(ratio),
    )


def period(result: Period) -> pb.PeriodTotal:
    totals = result.totals
    return pb.PeriodTotal(
        from_date=result.first.isoformat(),
        to_date=result.last.isoformat(),
        cost_usd=format_usd(totals.cost_usd),
        units=totals.units,
        records=totals.records,
        provisional=totals.provisional,
        estimated=totals.estimated,
    )


def record_inputs(messages: Any) -> list[RecordInput]:
    return [
        RecordInput(
            platform=m.platform,
            date=m.date,
            model=m.model,
            cost_usd=m.cost_usd,
            units=dict(m.units),
            line_items=[LineInput(i.name, i.quantity, i.unit, i.cost_usd) for i in m.line_items],
            estimated=m.estimated,
        )
        for m in messages
    ]
