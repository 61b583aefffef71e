"""The one shape the model may answer in: a strict JSON schema sent as the structured-output
format, and the pydantic models that validate the answer again on our side (the model's output is
untrusted data — OWASP LLM01/LLM05). Amounts are decimal strings, never JSON numbers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from svccommon.platforms import PLATFORMS

from parser.values import EARLIEST_DAY

UNITS = (
    "none", "tokens", "input_tokens", "output_tokens", "cached_input_tokens", "requests",
    "characters", "seconds", "minutes", "hours", "images", "operations",
)  # fmt: skip
UNKNOWN_PLATFORM = "unknown"
PLATFORM_CHOICES = (*PLATFORMS, UNKNOWN_PLATFORM)

AMOUNT_PATTERN = r"^\d{1,12}(\.\d{1,10})?$"
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
# Model names: ids and product names, no markup or control characters.
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._:/()+,-]{0,99}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

_TEXT = {"type": "string"}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["platform", "currency", "records"],
    "properties": {
        "platform": {
            "type": "string",
            "enum": list(PLATFORM_CHOICES),
            "description": "The AI provider billed.",
        },
        "currency": {**_TEXT, "description": "ISO 4217 code of the amounts, e.g. USD."},
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["date", "model", "description", "cost", "quantity", "unit"],
                "properties": {
                    "date": {
                        **_TEXT,
                        "description": "YYYY-MM-DD: the day, or the billing period's first day.",
                    },
                    "model": {
                        **_TEXT,
                        "description": "Model id or product name; '(other)' for taxes and fees.",
                    },
                    "description": {**_TEXT, "description": "The charge's label as printed, shortened."},
                    "cost": {**_TEXT, "description": "Non-negative amount: digits and one dot, no symbols."},
                    "quantity": {"type": ["string", "null"], "description": "Billed quantity, digits only."},
                    "unit": {"type": "string", "enum": list(UNITS)},
                },
            },
        },
    },
}
RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "billing_records", "strict": True, "schema": RESPONSE_SCHEMA},
}


# Nothing secret is ever in the model's context, but an answer that looks like it carries a key
# (an injected document asking for one) is refused rather than stored.
_KEY_LIKE = re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_-]{12,}|\bsk-ant-|-----BEGIN", re.IGNORECASE)


def _safe_text(text: str) -> str:
    if not text.isprintable():
        raise ValueError("contains control characters")
    if _KEY_LIKE.search(text):
        raise ValueError("looks like a credential")
    return text


class ExtractedCharge(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    date: Annotated[str, StringConstraints(pattern=DAY_PATTERN)]
    model: Annotated[str, StringConstraints(pattern=MODEL_PATTERN)] | Literal["(other)"]
    description: Annotated[str, StringConstraints(max_length=200)]
    cost: Annotated[str, StringConstraints(pattern=AMOUNT_PATTERN)]
    quantity: Annotated[str, StringConstraints(pattern=AMOUNT_PATTERN)] | None
    unit: Literal[UNITS]  # type: ignore[valid-type]  # built from the unit list: only pydantic reads it

    @field_validator("date")
    @classmethod
    def _real_day(cls, value: str) -> str:
        day = date.fromisoformat(value)  # ValueError for 2025-02-30 becomes a validation error
        if not EARLIEST_DAY <= day <= datetime.now(UTC).date():
            raise ValueError("date out of range")
        return value

    @field_validator("description", "model")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _safe_text(value)


class Extraction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    platform: Literal[PLATFORM_CHOICES]  # type: ignore[valid-type]  # built from the catalog, for pydantic
    currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
    records: list[ExtractedCharge] = Field(max_length=10_000)
