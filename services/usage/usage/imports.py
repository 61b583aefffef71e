"""Billing-file records from the parser: validated, rows of one key summed, written with
source "file". Re-importing an upload rewrites identical values; between two uploads that
cover the same (platform, day, model), the later import wins (see usage.proto)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from svccommon.audit import AuditLog
from svccommon.errors import InvalidArgument

from usage import limits
from usage.connectors import PLATFORMS
from usage.records import DecimalParseError, LineItem, UsageRecord, merge_records, to_decimal
from usage.recordstore import RecordStore
from usage.syncs import check_id

_UNIT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 200
MAX_ABS_USD = Decimal(10) ** 12


@dataclass(frozen=True)
class LineInput:
    name: str
    quantity: str
    unit: str
    cost_usd: str


@dataclass(frozen=True)
class RecordInput:
    platform: str
    date: str
    model: str
    cost_usd: str
    units: Mapping[str, int] = field(default_factory=dict)
    line_items: Sequence[LineInput] = ()
    estimated: bool = False


class RecordImporter:
    def __init__(
        self,
        store: RecordStore,
        clock: Callable[[], dt.datetime],
        audit: AuditLog | None = None,
        on_changed: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.audit = audit
        self.on_changed = on_changed  # the account's spend changed: alerts evaluate it

    def import_upload(self, account_id: str, upload_id: str, rows: Sequence[RecordInput]) -> int:
        check_id(account_id, "account_id")
        check_id(upload_id, "upload_id")
        if len(rows) > limits.MAX_IMPORT_RECORDS:
            raise InvalidArgument(f"at most {limits.MAX_IMPORT_RECORDS} records per import")
        today = self.clock().date()
        records = merge_records(to_record(row, i, today) for i, row in enumerate(rows))
        imported = self.store.import_file(account_id, upload_id, records, self.clock())
        self._audit("usage.records_imported", account_id, upload_id, imported)
        self._changed(account_id, imported)
        return imported

    def delete_upload(self, account_id: str, upload_id: str) -> int:
        check_id(account_id, "account_id")
        check_id(upload_id, "upload_id")
        deleted = self.store.delete_upload(account_id, upload_id)
        self._audit("usage.records_deleted", account_id, upload_id, deleted)
        self._changed(account_id, deleted)
        return deleted

    def _changed(self, account_id: str, records: int) -> None:
        if records and self.on_changed is not None:
            self.on_changed(account_id)

    def _audit(self, action: str, account_id: str, upload_id: str, records: int) -> None:
        if self.audit is not None:
            self.audit.record(
                action,
                account_id=account_id,
                target_type="upload",
                target_id=upload_id,
                details={"records": records},
                required=False,
            )


def to_record(row: RecordInput, index: int, today: dt.date) -> UsageRecord:
    where = f"records[{index}]"
    if row.platform not in PLATFORMS:
        raise InvalidArgument(f"{where}.platform is not a known platform")
    try:
        day = dt.date.fromisoformat(row.date) if len(row.date) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidArgument(f"{where}.date must be a day as YYYY-MM-DD")
    if day > today:
        raise InvalidArgument(f"{where}.date is in the future")
    units = {}
    for unit, count in row.units.items():
        if not _UNIT.fullmatch(unit):
            raise InvalidArgument(f"{where}.units has a malformed unit name")
        if count < 0:
            raise InvalidArgument(f"{where}.units.{unit} must not be negative")
        units[unit] = int(count)
    items = [_line_item(item, f"{where}.line_items[{j}]") for j, item in enumerate(row.line_items)]
    return UsageRecord(
        platform=row.platform,
        date=day,
        model=_text(row.model, f"{where}.model"),
        source="file",
        cost_usd=_usd(row.cost_usd, f"{where}.cost_usd"),
        units=units,
        line_items=tuple(items),
        estimated=row.estimated,
    )


def _line_item(item: LineInput, where: str) -> LineItem:
    quantity = _decimal(item.quantity, f"{where}.quantity") if item.quantity.strip() else None
    return LineItem(
        name=_text(item.name, f"{where}.name"),
        quantity=quantity,
        unit=item.unit[:64] if item.unit.isprintable() else "",
        cost_usd=_usd(item.cost_usd, f"{where}.cost_usd"),
    )


def _text(value: str, where: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT or not value.isprintable():
        raise InvalidArgument(f"{where} must be 1 to {MAX_TEXT} printable characters")
    return value


def _decimal(value: str, where: str) -> Decimal:
    try:
        return to_decimal(value)
    except DecimalParseError:
        raise InvalidArgument(f"{where} is not a decimal number") from None


def _usd(value: str, where: str) -> Decimal:
    amount = _decimal(value, where)
    if abs(amount) >= MAX_ABS_USD:
        raise InvalidArgument(f"{where} is out of range")
    return amount
