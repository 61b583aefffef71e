"""Google Vertex AI and the Gemini API through the Cloud Billing export to BigQuery.

Google has no spend API for Gemini keys; the bill is in the billing account's standard usage cost
export table in BigQuery. The credential (svccommon.platforms, platform ``google``) is a service
account's JSON key, the export table (``project.dataset.table``) and optionally the project to
run the query in (default: the key's own ``project_id``). The account needs BigQuery Data Viewer
on the export's dataset and BigQuery Job User on the query's project (docs/providers.md).

google-cloud-bigquery runs ONE parameterized standard-SQL query per sync window
(``window_days`` covers a year's backfill) through ``jobs.query``, plus ``jobs.getQueryResults``
pages when the answer is long. google-auth signs the JWT-bearer grant with the key and asks the
key's ``token_uri`` for an access token: only Google's token endpoint (or the one named by
``PROVIDER_TOKEN_URI_GOOGLE``, for tests and proxies) is accepted, so a pasted key cannot make
the service post to an arbitrary URL.

Money is exact: the export's ``cost`` and ``credits.amount`` are FLOAT64, cast in SQL to NUMERIC
(rounded to 9 decimal places, more than the export's precision, so the decimal the export holds
comes back unchanged) and summed as NUMERIC; the REST answer carries NUMERIC as a decimal string,
which the client turns into ``decimal.Decimal``. The cost of a day is ``SUM(cost)`` plus the
credits (negative amounts: free tier, promotions, committed-use discounts), the amount the
invoice charges for that usage.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from svccommon import credential_fields, platforms, units

from ..records import UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_decimal
from .base import Connector, DayBuckets, UnexpectedShape
from .errors import InvalidCredential, ProviderRejected, ProviderUnavailable

log = logging.getLogger(__name__)

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
TOKEN_URI_ENV = "PROVIDER_TOKEN_URI_GOOGLE"  # noqa: S105 - a variable name
# The scope google-cloud-bigquery itself asks; what the account may do is limited by its IAM roles.
SCOPES = ("https://www.googleapis.com/auth/bigquery",)
# Cloud Billing service descriptions (service.description) of Google's generative AI: Vertex AI
# (Gemini and partner models on Vertex), the Gemini Developer API (AI Studio keys), and its
# former billing name.
SERVICES = ("Vertex AI", "Gemini API", "Generative Language API")
COLUMNS = (
    "usage_day",
    "service",
    "sku_id",
    "sku",
    "currency",
    "usage_unit",
    "cost",
    "credits",
    "usage_amount",
)

QUERY = """
SELECT
  DATE(usage_start_time) AS usage_day,
  service.description AS service,
  sku.id AS sku_id,
  sku.description AS sku,
  currency AS currency,
  usage.unit AS usage_unit,
  SUM(CAST(cost AS NUMERIC)) AS cost,
  SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)) AS credits,
  SUM(CAST(IFNULL(usage.amount, 0) AS NUMERIC)) AS usage_amount
FROM `{table}`
WHERE usage_start_time >= @start AND usage_start_time < @end
  AND service.description IN UNNEST(@services)
GROUP BY usage_day, service, sku_id, sku, currency, usage_unit
ORDER BY usage_day, service, sku
""".strip()

# BigQuery error reasons (https://cloud.google.com/bigquery/docs/error-messages) worth a retry.
RETRY_REASONS = frozenset(
    {"backendError", "internalError", "rateLimitExceeded", "jobRateLimitExceeded", "quotaExceeded"}
)

_MODEL = re.compile(
    r"\b(?P<family>Gemini|Gemma|Imagen|Veo|Claude|Llama|Mistral|Codestral)\s+"
    r"(?P<version>\d[\w.]*)"
    r"(?P<tier>(?:[\s-]+(?:Pro|Flash|Lite|Ultra|Nano|Haiku|Sonnet|Opus|Fast|Image|Live))*)",
    re.IGNORECASE,
)


def model_from_sku(sku: str) -> str | None:
    """``Gemini 2.5 Flash-Lite Input Text Tokens`` -> ``gemini-2.5-flash-lite``; None if unnamed."""
    match = _MODEL.search(sku)
    if match is None:
        return None
    words = [match.group("family"), match.group("version"), *re.split(r"[\s-]+", match.group("tier").strip())]
    return "-".join(w.lower() for w in words if w and w.lower() not in ("image", "live"))


def unit_for(sku: str, usage_unit: str) -> str | None:
    """The canonical unit (svccommon.units) a SKU's usage amount counts, or None."""
    text = sku.lower()
    if "storage" in text or "hour" in usage_unit.lower():
        return None  # context-cache storage is billed per token-hour: not a token count
    if "token" in text:
        if "cache" in text or "cached" in text:
            return units.CACHE_READ_TOKENS
        if "output" in text:
            return units.OUTPUT_TOKENS
        if "input" in text:
            return units.INPUT_UNCACHED_TOKENS
        return None
    if "character" in text:
        return units.CHARACTERS
    if usage_unit.lower() in ("seconds", "second", "s"):
        return units.SECONDS
    if "image" in text and usage_unit.lower() in ("count", "image", "images"):
        return units.IMAGES
    if "request" in text and usage_unit.lower() in ("count", "request", "requests"):
        return units.REQUESTS
    return None


class GoogleVertexConnector(Connector):
    platform = "google"
    default_base_url = "https://bigquery.googleapis.com"
    invalid_key_message = (
        "Google refused this service account or its billing export table. Use the JSON key of a "
        "service account with BigQuery Data Viewer on the billing export's dataset and BigQuery Job "
        "User on the project the query runs in, and the standard usage cost export table "
        "(project.dataset.table) as shown under Billing > Billing export."
    )
    window_days = 366  # one query (plus result pages) for a whole year's backfill
    provisional_days = 3  # the export fills in and revises the latest days for a while

    def __init__(self, *, client: Any = None, env: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(env=env, **kwargs)
        self._env = os.environ if env is None else env
        self._client = client  # tests may pass a bigquery.Client

    def _headers(self, api_key: str) -> dict[str, str]:  # OAuth is google-auth's
        return {}

    # the client -------------------------------------------------------------------------
    def _credential(self, api_key: str) -> tuple[dict[str, Any], str, str]:
        """(service-account info, export table, project to run the query in)."""
        try:
            fields = platforms.parse_fields(self.platform, api_key)
        except platforms.InvalidKey as exc:
            raise InvalidCredential(exc.message) from None
        info = credential_fields.service_account_info(fields["service_account_json"])
        if info is None:  # parse_fields checked it already
            raise InvalidCredential(self.invalid_key_message)
        allowed = {GOOGLE_TOKEN_URI, (self._env.get(TOKEN_URI_ENV) or "").strip()} - {""}
        if info["token_uri"] not in allowed:
            raise InvalidCredential(
                f"The service account key's token_uri is not Google's ({GOOGLE_TOKEN_URI}): paste the key "
                "file exactly as Google issued it."
            )
        table = fields["billing_table"]
        project = fields.get("billing_project") or str(info.get("project_id") or "") or table.split(".")[0]
        return info, table, project

    def _bigquery(self, info: dict[str, Any], project: str) -> Any:
        if self._client is not None:
            return self._client
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery
        from google.oauth2 import service_account

        try:
            credentials = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
        except (ValueError, KeyError, TypeError):  # an unreadable private key
            raise InvalidCredential(
                self.invalid_key_message, provider_detail="unreadable private key"
            ) from None
        return bigquery.Client(
            project=project,
            credentials=credentials,
            client_options=ClientOptions(api_endpoint=self.base_url),
        )

    # the query ------------------------------------------------------------------------------
    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        from google.cloud import bigquery

        info, table, project = self._credential(api_key)
        client = self._bigquery(info, project)
        start = datetime.combine(buckets.first, time.min).replace(tzinfo=UTC)
        end = datetime.combine(buckets.last + timedelta(days=1), time.min).replace(tzinfo=UTC)
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
                bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
                bigquery.ArrayQueryParameter("services", "STRING", list(SERVICES)),
            ],
            use_legacy_sql=False,
        )
        rows = self._call(client, QUERY.format(table=table), config, project)
        with buckets.guard(None, "jobs.query"):
            names = [f.name for f in rows.schema]
            if tuple(names) != COLUMNS:
                raise UnexpectedShape(None, f"columns {names}, expected {list(COLUMNS)}")
        for row in rows.rows:
            self._add_row(buckets, row)

    def _call(self, client: Any, sql: str, config: Any, project: str) -> Any:
        """Every row of the query (all pages read here, so retries cover them), or an error."""
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc

        http = self.http
        problem = ""
        timeout = http.timeout
        for attempt in range(1, http.max_attempts + 1):
            try:
                iterator = client.query_and_wait(
                    sql,
                    job_config=config,
                    project=project,
                    api_timeout=timeout[1],
                    wait_timeout=timeout[1] * 4,
                    retry=None,  # ours, below
                    job_retry=None,
                )
                return _Rows(iterator.schema, [tuple(r.values()) for r in iterator])
            except auth_exc.RefreshError as exc:
                if getattr(exc, "retryable", False):
                    problem = "token endpoint unavailable"
                else:
                    raise InvalidCredential(
                        self.invalid_key_message, status=400, provider_detail=_detail(exc)
                    ) from None
            except auth_exc.TransportError as exc:
                problem = f"network error ({type(exc).__name__})"
            except gexc.GoogleAPICallError as exc:
                status = int(exc.code) if isinstance(exc.code, int) else None
                reason = _reason(exc)
                if reason in RETRY_REASONS or isinstance(exc, (gexc.TooManyRequests, gexc.ServerError)):
                    problem = f"HTTP {status} {reason}".strip()
                elif isinstance(exc, (gexc.Unauthorized, gexc.Forbidden, gexc.NotFound)):
                    raise InvalidCredential(
                        self.invalid_key_message, status=status, provider_detail=_detail(exc)
                    ) from None
                else:
                    raise ProviderRejected(status or 400, _detail(exc)) from None
            except (OSError, gexc.RetryError) as exc:  # connection refused, timeouts
                problem = f"network error ({type(exc).__name__})"
            if not http.wait_before_retry(attempt, "jobs.query", problem):
                break
        raise ProviderUnavailable(f"{problem} after {http.max_attempts} attempts (jobs.query)")

    def _add_row(self, buckets: DayBuckets, row: tuple[Any, ...]) -> None:
        day = None
        with buckets.guard(None, "jobs.query"):
            value = row[0]
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        if day is None:
            return
        with buckets.guard(day, "jobs.query"):
            record = self._record(day, dict(zip(COLUMNS, row, strict=True)))
            if record is not None:
                buckets.add(record)

    def _record(self, day: date, row: dict[str, Any]) -> UsageRecord | None:
        currency = str(row["currency"] or "")
        if currency != "USD":
            raise UnexpectedShape(
                day,
                f"the billing account is billed in {currency or 'no currency'}; AICosts stores USD only "
                "(a USD billing account, or upload the export converted to USD)",
            )
        cost = to_decimal(str(row["cost"] if row["cost"] is not None else "0"))
        credits = to_decimal(str(row["credits"] if row["credits"] is not None else "0"))
        net = cost + credits
        quantity = to_decimal(str(row["usage_amount"])) if row["usage_amount"] is not None else None
        sku = str(row["sku"] or row["sku_id"] or "")
        usage_unit = str(row["usage_unit"] or "")
        unit = unit_for(sku, usage_unit)
        counts: dict[str, int] = {}
        if (
            unit is not None
            and quantity is not None
            and quantity == quantity.to_integral_value()
            and quantity
        ):
            counts[unit] = int(quantity)
        if net == 0 and not counts:
            return None
        item = LineItem(f"{row['service']}: {sku}", quantity, unit or usage_unit or "usage", net)
        return UsageRecord(
            self.platform,
            day,
            model_from_sku(sku) or UNATTRIBUTED_MODEL,
            "api",
            cost_usd=net,
            units=counts,
            line_items=(item,),
            amount_original=net,
        )


class _Rows:
    def __init__(self, schema: Any, rows: list[tuple[Any, ...]]) -> None:
        self.schema, self.rows = schema, rows


def _reason(exc: Any) -> str:
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    return str(first.get("reason", ""))


def _detail(exc: Exception) -> str:
    """What the provider said, short; google-auth's RefreshError carries the token endpoint's
    JSON answer (never the assertion)."""
    reason = _reason(exc)
    message = str(getattr(exc, "message", "") or exc)
    return f"{type(exc).__name__}{' ' + reason if reason else ''}: {message}"[:300]
