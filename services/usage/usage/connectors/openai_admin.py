"""OpenAI organization Costs API (money) joined with the Usage API (units).

Named ``openai_admin`` so it never shadows the ``openai`` SDK package.
Auth: an Admin key (``sk-admin-...``) as ``Authorization: Bearer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from ..records import UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_count, to_decimal
from .base import Connector, DayBuckets, UnexpectedShape, day_start, unix_day

COSTS_PATH = "/organization/costs"
USAGE_PATH = "/organization/usage/"

# Usage API field -> normalized unit. The first group is required by the spec.
_REQUEST_UNITS = {"num_model_requests": "requests"}
_COMPLETION_UNITS = {
    "input_tokens": "input_tokens",  # includes cached and cache-write tokens
    "output_tokens": "output_tokens",
    **_REQUEST_UNITS,
}
_COMPLETION_OPTIONAL = {
    "input_cached_tokens": "cached_input_tokens",
    "input_cache_write_tokens": "cache_write_input_tokens",
    "input_audio_tokens": "input_audio_tokens",
    "output_audio_tokens": "output_audio_tokens",
    "input_image_tokens": "input_image_tokens",
    "output_image_tokens": "output_image_tokens",
}

# endpoint -> (can group by model, required fields, optional fields)
USAGE_ENDPOINTS: dict[str, tuple[bool, Mapping[str, str], Mapping[str, str]]] = {
    "completions": (True, _COMPLETION_UNITS, _COMPLETION_OPTIONAL),
    "embeddings": (True, {"input_tokens": "input_tokens", **_REQUEST_UNITS}, {}),
    "moderations": (True, {"input_tokens": "input_tokens", **_REQUEST_UNITS}, {}),
    "images": (True, {"images": "images", **_REQUEST_UNITS}, {}),
    "audio_speeches": (True, {"characters": "characters", **_REQUEST_UNITS}, {}),
    "audio_transcriptions": (True, {"seconds": "seconds", **_REQUEST_UNITS}, {}),
    # Only project_id grouping exists here: these land on the unattributed model.
    "vector_stores": (False, {"usage_bytes": "vector_store_bytes"}, {}),
    "code_interpreter_sessions": (False, {"num_sessions": "operations"}, {}),
}


def split_line_item(line_item: str | None) -> tuple[str, str]:
    """``"gpt-4o-2024-08-06, input"`` -> (model, kind); non-model items -> (other).

    docs/providers.md: a cost line item's model is the part before ``", "``. Prefixes
    such as ``"evals | "`` name the product, so the model is after the last bar.
    Items without ``", "`` (``"assistants api | file search"``) have no model.
    """
    if not line_item:
        return UNATTRIBUTED_MODEL, ""
    head, sep, kind = line_item.partition(", ")
    if not sep:
        return UNATTRIBUTED_MODEL, line_item
    model = head.rsplit(" | ", 1)[-1].strip()
    return (model or UNATTRIBUTED_MODEL), kind.strip()


class OpenAIConnector(Connector):
    platform = "openai"
    default_base_url = "https://api.openai.com/v1"
    invalid_key_message = (
        "This key is not an OpenAI admin key. Create an Admin key at "
        "https://platform.openai.com/settings/organization/admin-keys"
    )
    window_days = 31  # usage API: at most 31 daily buckets per page

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        days = (buckets.last - buckets.first).days + 1
        window = [
            ("start_time", int(day_start(buckets.first).timestamp())),
            ("end_time", int(day_start(buckets.last + timedelta(days=1)).timestamp())),
            ("bucket_width", "1d"),
            ("limit", days),
        ]
        # Costs are the money truth; project_id grouping is kept for later per-project views.
        cost_params = window + [("group_by", "line_item"), ("group_by", "project_id")]
        self._read_buckets(api_key, COSTS_PATH, cost_params, buckets, self._cost_record)
        for endpoint, (by_model, required, optional) in USAGE_ENDPOINTS.items():
            params = window + ([("group_by", "model")] if by_model else [])
            parse = _usage_parser(self.platform, required, optional)
            self._read_buckets(api_key, USAGE_PATH + endpoint, params, buckets, parse)

    def _read_buckets(
        self,
        api_key: str,
        path: str,
        params: list[tuple[str, str | int]],
        buckets: DayBuckets,
        parse: Callable[[date, dict[str, Any]], UsageRecord],
    ) -> None:
        for page in self._paginate(api_key, path, params):
            for bucket in page["data"]:
                buckets.add_bucket(bucket, path, lambda b: unix_day(b["start_time"]), parse)

    def _cost_record(self, day: date, result: dict[str, Any]) -> UsageRecord:
        amount = result["amount"]
        value = to_decimal(amount["value"])  # the live API sometimes sends "12.50"
        currency = str(amount.get("currency") or "usd")
        if currency.lower() != "usd":
            raise UnexpectedShape(day, f"cost in {currency!r}, expected usd")
        line_item = result.get("line_item")
        model, _kind = split_line_item(line_item)
        quantity = result.get("quantity")
        item = LineItem(
            name=line_item or "unspecified",
            quantity=to_decimal(quantity) if quantity is not None else None,
            unit=result.get("quantity_unit") or "",
            cost_usd=value,
        )
        return UsageRecord(
            self.platform, day, model, "api", cost_usd=value, line_items=(item,), amount_original=value
        )


def _usage_parser(
    platform: str, required: Mapping[str, str], optional: Mapping[str, str]
) -> Callable[[date, dict[str, Any]], UsageRecord]:
    def parse(day: date, result: dict[str, Any]) -> UsageRecord:
        units = {unit: to_count(result[field]) for field, unit in required.items()}
        for field, unit in optional.items():
            if result.get(field) is not None:
                units[unit] = to_count(result[field])
        model = result.get("model") or UNATTRIBUTED_MODEL
        return UsageRecord(platform, day, str(model), "api", units=units)

    return parse
