"""The billing-file endpoints' (gateway.api.uploads) answers as response models, and the upload
form as the document describes it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gateway.answers import NOT_SET, Answer, Day, Money, Timestamp, Units
from gateway.api.usage_models import LineItem


class UploadForm(BaseModel):
    """The multipart/form-data fields of POST /v1/uploads (read by the view itself, not parsed
    with this model: the file streams to the parser)."""

    file: bytes = Field(description="The billing file: CSV, XLSX or PDF")
    platform: str = Field(default=NOT_SET, description="A platform id (GET /v1/platforms)")


class UploadRecord(Answer):
    date: Day
    platform: str
    model: str
    cost_usd: Money
    units: Units
    line_items: list[LineItem]
    estimated: bool


class Upload(Answer):
    id: str
    filename: str = Field(description="As uploaded; for display only")
    size: int
    content_type: str
    platform: str
    status: Literal["parsing", "parsed", "failed", "imported"]
    parser: str = Field(
        description="openai_cost_csv, openai_usage_csv, anthropic_cost_csv, anthropic_usage_csv, "
        "generic_table or openai_extraction"
    )
    records_preview: list[UploadRecord]
    record_count: int = Field(description="All records (the preview may show fewer)")
    total_cost_usd: Money
    warnings: list[str]
    columns_used: dict[str, str] = Field(
        description="Generic tables: role (date, cost_usd, model, ...) → the file's column header"
    )
    records_imported: int | None
    error: str | None
    created_at: Timestamp | None
    imported_at: Timestamp | None


class UploadEnvelope(Answer):
    upload: Upload
