"""The answers of the sync and usage endpoints (gateway.api.usage), as response models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.answers import NOT_SET, Answer, Day, Money, Sparse, Timestamp, Units


class FailedDay(Answer):
    date: Day
    error: str


class UnavailableDays(Answer):
    from_: Day = Field(alias="from")
    to: Day
    reason: str


class KeptDay(Answer):
    date: Day
    reason: str


class SyncRun(Answer):
    id: str
    credential_id: str
    platform: str
    status: Literal["queued", "running", "succeeded", "failed", "partial"]
    reason: Literal["manual", "backfill", "scheduled"]
    from_: Day = Field(alias="from")
    to: Day
    days: int = Field(description="Days fetched and stored so far")
    days_total: int = Field(description="Days in the range, up to today")
    records: int = Field(description="Records written")
    error: str | None = Field(description="Why the run failed or was partial")
    failed_days: list[FailedDay]
    unavailable_days: list[UnavailableDays] = Field(
        description="Days the provider's API cannot give (outside the window it serves); never requested "
        "and not failures"
    )
    kept_days: list[KeptDay] = Field(
        description="Days the provider answered empty although costs were stored: the stored records were "
        "kept and flagged; a second empty answer in a later sync erases them"
    )
    notice: str | None = Field(description="What to know about a run that did not fail")
    queued_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None


class SyncRunEnvelope(Answer):
    sync_run: SyncRun


_PROVISIONAL = "Includes recent days the provider may revise"
_ESTIMATED = "Includes costs computed from a price table"


class _Total(Sparse):
    cost_usd: Money
    units: Units
    records: int
    provisional: bool = Field(description=_PROVISIONAL)
    estimated: bool = Field(description=_ESTIMATED)


class _GroupKeys(Sparse):
    """The keys a summary group was grouped by: absent unless grouped by, never null."""

    day: Day = NOT_SET
    platform: str = NOT_SET
    model: str = NOT_SET
    source: Literal["api", "file"] = NOT_SET
    credential_id: str = Field(default=NOT_SET, description='The key that synced it; "" for files')
    project: str = Field(
        default=NOT_SET,
        description='The provider\'s project or workspace id; "" for money it does not attribute',
    )
    project_name: str | None = Field(default=None, description="Its current name at the provider")
    api_key: str = Field(
        default=NOT_SET, description='The provider\'s API key id; "" for money it does not attribute'
    )
    api_key_name: str | None = Field(default=None, description="Its current name at the provider")


class UsageGroup(_Total, _GroupKeys):
    """One group of a summary: the keys it was grouped by, then its totals."""


class Others(_Total):
    groups: int = Field(description="How many groups were folded into this one")


class UsageSummary(Sparse):
    from_: Day = Field(alias="from")
    to: Day
    currency: Literal["USD"]
    total_cost_usd: Money
    units: Units
    records: int
    provisional: bool = Field(description=_PROVISIONAL)
    estimated: bool = Field(description=_ESTIMATED)
    groups: list[UsageGroup]
    others: Others | None = Field(
        default=None,
        description="With `top`: every group beyond the first N, summed (`groups` says how many); null when "
        "nothing was left out; absent without `top`",
    )


class PeriodTotal(Answer):
    from_: Day = Field(alias="from")
    to: Day
    cost_usd: Money
    units: Units
    records: int
    provisional: bool = Field(description=_PROVISIONAL)
    estimated: bool = Field(description=_ESTIMATED)


class MonthToDate(Answer):
    currency: Literal["USD"]
    current: PeriodTotal
    previous: PeriodTotal
    change_usd: Money
    change_ratio: str | None = Field(
        description="(current - previous) / previous, 4 decimals; null when previous is 0"
    )


class LineItem(Answer):
    name: str
    quantity: str | None = Field(description="Exact decimal")
    unit: str
    cost_usd: Money


class UsageRecord(Answer):
    date: Day
    platform: str
    model: str
    source: Literal["api", "file"]
    cost_usd: Money
    units: Units
    line_items: list[LineItem]
    provisional: bool = Field(description="A recent day the provider may revise")
    estimated: bool = Field(description="Cost computed from a price table")
    credential_id: str | None
    upload_id: str | None
    project: str | None = Field(description="The provider's project or workspace id")
    api_key: str | None = Field(description="The provider's API key id")
    warnings: list[str]
    synced_at: Timestamp | None
