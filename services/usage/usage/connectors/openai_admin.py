"""OpenAI organization Costs API (money) joined with the Usage API (units).

Named ``openai_admin`` so it never shadows the ``openai`` SDK package.
Auth: an Admin key (``sk-admin-...``) as ``Authorization: Bearer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from svccommon import units as u

from ..records import UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_count, to_decimal
from .base import Connector, DayBuckets, UnexpectedShape, day_start, unix_day

COSTS_PATH = "/organization/costs"
USAGE_PATH = "/organization/usage/"
PROJECTS_PATH = "/organization/projects"
# Attribution (docs/providers.md): the group_by values of each endpoint that name a project and
# an API key (openai/openai-openapi openapi.yaml). The storage/session endpoints only know the
# project.
_ATTRIBUTION = ("project_id", "api_key_id")
_PROJECT_ONLY = frozenset({"vector_stores", "code_interpreter_sessions"})

# Usage API field -> canonical unit (svccommon.units). The first group is required by the spec
# (openai/openai-openapi, UsageCompletionsResult and the other Usage*Result schemas).
_REQUEST_UNITS = {"num_model_requests": u.REQUESTS}
_COMPLETION_DETAILS = {
    # Modality breakdowns; the spec counts them inside input_uncached_tokens / output_tokens.
    "input_audio_tokens": u.INPUT_AUDIO_TOKENS,
    "input_image_tokens": u.INPUT_IMAGE_TOKENS,
    "output_audio_tokens": u.OUTPUT_AUDIO_TOKENS,
    "output_image_tokens": u.OUTPUT_IMAGE_TOKENS,
}
# Embeddings and moderations have no prompt cache: their input is all uncached.
_INPUT_UNITS = {"input_tokens": u.INPUT_UNCACHED_TOKENS, **_REQUEST_UNITS}

UnitReader = Callable[[dict[str, Any]], dict[str, int]]


def _fields(required: Mapping[str, str], optional: Mapping[str, str] | None = None) -> UnitReader:
    def read(result: dict[str, Any]) -> dict[str, int]:
        units = {unit: to_count(result[field]) for field, unit in required.items()}
        for field, unit in (optional or {}).items():
            if result.get(field) is not None:
                units[unit] = to_count(result[field])
        return units

    return read


_completion_details = _fields({}, _COMPLETION_DETAILS)  # built once, not per result row


def completion_units(result: dict[str, Any]) -> dict[str, int]:
    """OpenAI's ``input_tokens`` include cached and cache-write tokens (spec), so the uncached
    part is the total less both cache counts: the three then add up to the reported total."""
    total = to_count(result["input_tokens"])
    cache_read = to_count(result.get("input_cached_tokens") or 0)
    cache_write = to_count(result.get("input_cache_write_tokens") or 0)
    uncached = total - cache_read - cache_write
    if uncached < 0:
        raise ValueError(f"input_tokens {total} is less than cached {cache_read} + cache write {cache_write}")
    units = {
        u.INPUT_UNCACHED_TOKENS: uncached,
        u.CACHE_READ_TOKENS: cache_read,
        u.CACHE_WRITE_TOKENS: cache_write,
        u.OUTPUT_TOKENS: to_count(result["output_tokens"]),
        u.REQUESTS: to_count(result["num_model_requests"]),
    }
    units.update(_completion_details(result))
    keep = (u.INPUT_UNCACHED_TOKENS, u.OUTPUT_TOKENS, u.REQUESTS)
    return {k: v for k, v in units.items() if v or k in keep}


# endpoint -> (can group by model, unit reader)
USAGE_ENDPOINTS: dict[str, tuple[bool, UnitReader]] = {
    "completions": (True, completion_units),
    "embeddings": (True, _fields(_INPUT_UNITS)),
    "moderations": (True, _fields(_INPUT_UNITS)),
    "images": (True, _fields({"images": u.IMAGES, **_REQUEST_UNITS})),
    "audio_speeches": (True, _fields({"characters": u.CHARACTERS, **_REQUEST_UNITS})),
    "audio_transcriptions": (True, _fields({"seconds": u.SECONDS, **_REQUEST_UNITS})),
    # num_model_requests here are the completions requests that searched, already counted there.
    "web_search_calls": (True, _fields({"num_requests": u.WEB_SEARCH_CALLS})),
    # Only project/user/key/vector-store grouping exists here: these land on the unattributed model.
    "file_search_calls": (False, _fields({"num_requests": u.FILE_SEARCH_CALLS})),
    "vector_stores": (False, _fields({"usage_bytes": u.VECTOR_STORE_BYTES})),
    "code_interpreter_sessions": (False, _fields({"num_sessions": u.CODE_INTERPRETER_SESSIONS})),
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
        window: list[tuple[str, str | int]] = [
            ("start_time", int(day_start(buckets.first).timestamp())),
            ("end_time", int(day_start(buckets.last + timedelta(days=1)).timestamp())),
            ("bucket_width", "1d"),
            ("limit", days),
        ]
        # Costs are the money truth, per line item, project and API key.
        cost_params = window + [("group_by", "line_item"), *(("group_by", g) for g in _ATTRIBUTION)]
        self._read_buckets(api_key, COSTS_PATH, cost_params, buckets, self._cost_record)
        for endpoint, (by_model, read_units) in USAGE_ENDPOINTS.items():
            attribution = ("project_id",) if endpoint in _PROJECT_ONLY else _ATTRIBUTION
            params = window + ([("group_by", "model")] if by_model else [])
            params += [("group_by", g) for g in attribution]
            parse = _usage_parser(self.platform, read_units)
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
            self.platform,
            day,
            model,
            "api",
            cost_usd=value,
            line_items=(item,),
            amount_original=value,
            project_id=project_of(result),
            api_key_id=api_key_of(result),
        )

    def names(self, api_key: str) -> dict[str, dict[str, str]]:
        """Project names (archived ones too: their usage stays) and each project's API key
        names (GET /organization/projects, /organization/projects/{id}/api_keys)."""
        projects: dict[str, str] = {}
        keys: dict[str, str] = {}
        listing: list[tuple[str, str | int]] = [("limit", 100), ("include_archived", "true")]
        for project in self._list_all(api_key, PROJECTS_PATH, listing, "after"):
            projects[project["id"]] = str(project.get("name") or "")
        for project_id in projects:
            path = f"{PROJECTS_PATH}/{project_id}/api_keys"
            for key in self._list_all(api_key, path, [("limit", 100)], "after"):
                keys[key["id"]] = str(key.get("name") or "")
        return {"project": projects, "api_key": keys}


def project_of(result: dict[str, Any]) -> str:
    """A result's project id ("" when the provider does not attribute it)."""
    return str(result.get("project_id") or "")


def api_key_of(result: dict[str, Any]) -> str:
    """A result's API key id ("" when the provider does not attribute it)."""
    return str(result.get("api_key_id") or "")


def _usage_parser(platform: str, read_units: UnitReader) -> Callable[[date, dict[str, Any]], UsageRecord]:
    def parse(day: date, result: dict[str, Any]) -> UsageRecord:
        model = result.get("model") or UNATTRIBUTED_MODEL
        return UsageRecord(
            platform,
            day,
            str(model),
            "api",
            units=read_units(result),
            project_id=project_of(result),
            api_key_id=api_key_of(result),
        )

    return parse
