"""Azure OpenAI spend through the Cost Management Query API, read with a service principal.

The credential (svccommon.platforms, four fields stored as one JSON secret) is a Microsoft Entra
app registration: tenant id, client id, client secret, and the scope to read (a subscription or
one of its resource groups) on which the app has the Cost Management Reader role.

Auth: the OAuth 2.0 client-credentials grant, ``POST {auth}/{tenant}/oauth2/v2.0/token`` with
``scope=https://management.azure.com/.default``, done with ``requests`` (no Azure SDK: one form
POST is all the flow needs). The token is kept for its ``expires_in`` within the sync.

Query: ``POST {root}{scope}/providers/Microsoft.CostManagement/query?api-version=2025-03-01``,
``ActualCost``, ``Custom`` time period of at most 28 days (a ``Daily`` range is cut to the month
before its end), aggregations ``Cost`` and ``UsageQuantity`` (sums), grouped by the ``Meter`` and
``ResourceId`` dimensions, filtered to the ``ServiceName`` values Azure OpenAI is billed under.
The answer is columnar (``properties.columns`` + ``rows``); ``properties.nextLink`` pages.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import requests
from svccommon import platforms, units

from ..records import UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_decimal
from .base import MAX_PAGES, Connector, DayBuckets, UnexpectedShape
from .errors import InvalidCredential, ProviderRejected, ProviderUnavailable
from .http import RETRYABLE_STATUSES, error_detail, parse_retry_after

log = logging.getLogger(__name__)

API_VERSION = "2025-03-01"  # the current GA version of the Query API reference
MANAGEMENT_SCOPE = "https://management.azure.com/.default"  # the resource the token is for
AUTH_URL_ENV = "PROVIDER_AUTH_URL_AZURE_OPENAI"
DEFAULT_AUTH_URL = "https://login.microsoftonline.com"
# The Cost Management service names Azure OpenAI usage is billed under (older meters: Cognitive
# Services; the Azure AI Foundry rename: Foundry Models). Other Cognitive Services meters (speech,
# vision, ...) come with them and are stored as cost under "(other)".
SERVICE_NAMES = ("Azure OpenAI", "Cognitive Services", "Foundry Models")
# Cost Management's throttling headers (seconds), besides the standard Retry-After.
RETRY_AFTER_HEADERS = (
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-client-retry-after",
    "Retry-After",
)
_TOKEN_MARGIN_S = 60.0

# Meter names (Azure OpenAI price list): "gpt-4o-mini-0718-Inp-glbl Tokens",
# "gpt 4.1 Outp regnl Tokens", "5.4 mini cd Inp Gl 1M Tokens", "codex mini inp cchd glbl Tokens",
# "5.6 sol ShortCo Cd Wr Std Gl 1M Tokens".
_INPUT_WORDS = frozenset({"inp", "input", "in"})
_OUTPUT_WORDS = frozenset({"outp", "out", "opt", "output"})
_CACHE_WORDS = frozenset({"cached", "cchd", "ccchd", "cd"})
_DEPLOYMENT_WORDS = frozenset(
    {"glbl", "gl", "regnl", "rg", "dz", "dzone", "batch", "std", "pp", "shortco", "longco", "data", "zone"}
)
_SPLIT = re.compile(r"[\s-]+")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def scope_path(scope: str) -> str:
    """``<guid>`` / ``subscriptions/<guid>`` / ``/subscriptions/<guid>[/resourceGroups/<rg>]`` ->
    the path under the API root, always starting with ``/subscriptions/``."""
    value = scope.strip().rstrip("/")
    if not value.startswith("/"):
        value = "/" + value
    if not value.lower().startswith("/subscriptions/"):
        value = "/subscriptions" + value
    return value


def meter_tokens(meter: str) -> tuple[str | None, str | None, int]:
    """(model, unit, tokens per quantity unit) of an Azure OpenAI token meter; (None, None, 0)
    for a meter that counts something else (provisioned units, images, hours, ...)."""
    words = [w for w in _SPLIT.split(meter.strip()) if w]
    lowered = [w.lower() for w in words]
    if not lowered or lowered[-1] != "tokens":
        return None, None, 0
    scale = 1_000_000 if "1m" in lowered else 1000
    direction = next((i for i, w in enumerate(lowered) if w in _INPUT_WORDS | _OUTPUT_WORDS | {"wr"}), None)
    if direction is None:
        return None, None, 0
    word = lowered[direction]
    if word == "wr":
        unit = units.CACHE_WRITE_TOKENS
    elif word in _OUTPUT_WORDS:
        unit = units.OUTPUT_TOKENS
    elif _CACHE_WORDS & set(lowered):
        unit = units.CACHE_READ_TOKENS
    else:
        unit = units.INPUT_UNCACHED_TOKENS
    prefix = lowered[:direction]
    while prefix and (prefix[-1] in _DEPLOYMENT_WORDS or prefix[-1] in _CACHE_WORDS):
        prefix.pop()
    model = "-".join(prefix) or None
    if model and model[0].isdigit():
        model = "gpt-" + model  # newer meters drop the family: "5.4 mini ..." is GPT-5.4 mini
    return model, unit, scale


class AzureOpenAIConnector(Connector):
    platform = "azure_openai"
    default_base_url = "https://management.azure.com"
    invalid_key_message = (
        "Azure refused this service principal. Check the tenant ID, the application (client) ID and "
        "the client secret's value, and give the app the Cost Management Reader role on the "
        "subscription or resource group you entered (the steps are in the AICosts provider docs)."
    )
    # A Daily query's range is cut to "to - 1 month + 1 day" (28 days after a February): 28 days
    # always fit whole.
    window_days = 28
    provisional_days = 3  # Cost Management refreshes every few hours and revises recent days

    def __init__(self, *, auth_url: str | None = None, env: Mapping[str, str] | None = None, **kwargs: Any):
        super().__init__(env=env, **kwargs)
        environ = os.environ if env is None else env
        value = (auth_url or environ.get(AUTH_URL_ENV) or DEFAULT_AUTH_URL).strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{AUTH_URL_ENV} must be an http(s) URL")
        self.auth_url = value.rstrip("/")
        self._token: tuple[str, str, float] | None = None  # (credential, token, expires at)

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token(api_key)}"}

    # auth -------------------------------------------------------------------------------------
    def _fields(self, api_key: str) -> dict[str, str]:
        try:
            return platforms.parse_fields(self.platform, api_key)
        except platforms.InvalidKey as exc:
            raise InvalidCredential(exc.message) from None

    def _access_token(self, api_key: str, *, renew: bool = False) -> str:
        now = time.monotonic()
        if not renew and self._token is not None and self._token[0] == api_key and now < self._token[2]:
            return self._token[1]
        fields = self._fields(api_key)
        tenant = fields["tenant_id"]
        if not _GUID.match(tenant):
            raise InvalidCredential(self.invalid_key_message, provider_detail="tenant id is not a GUID")
        form = {
            "grant_type": "client_credentials",
            "client_id": fields["client_id"],
            "client_secret": fields["client_secret"],
            "scope": MANAGEMENT_SCOPE,
        }
        url = f"{self.auth_url}/{tenant}/oauth2/v2.0/token"
        resp = self._send("POST", url, "token", data=form)
        if resp.status_code >= 400:
            detail = _oauth_error(resp).replace(fields["client_secret"], "***")
            if resp.status_code in (400, 401, 403, 404):
                raise InvalidCredential(
                    self.invalid_key_message, status=resp.status_code, provider_detail=detail
                )
            raise ProviderRejected(resp.status_code, detail)
        try:
            body = resp.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in", 3599))
        except (ValueError, KeyError, TypeError):
            raise UnexpectedShape(None, "token: no access_token in the answer") from None
        if not isinstance(token, str) or not token:
            raise UnexpectedShape(None, "token: access_token is empty")
        self._token = (api_key, token, now + max(0.0, lifetime - _TOKEN_MARGIN_S))
        return token

    # query ------------------------------------------------------------------------------------
    def query_body(self, first: date, last: date) -> dict[str, Any]:
        return {
            "type": "ActualCost",
            "timeframe": "Custom",
            "timePeriod": {"from": f"{first.isoformat()}T00:00:00Z", "to": f"{last.isoformat()}T23:59:59Z"},
            "dataset": {
                "granularity": "Daily",
                "aggregation": {
                    "totalCost": {"name": "Cost", "function": "Sum"},
                    "totalQuantity": {"name": "UsageQuantity", "function": "Sum"},
                },
                "grouping": [
                    {"type": "Dimension", "name": "Meter"},
                    {"type": "Dimension", "name": "ResourceId"},
                ],
                "filter": {
                    "dimensions": {"name": "ServiceName", "operator": "In", "values": list(SERVICE_NAMES)}
                },
            },
        }

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        scope = scope_path(self._fields(api_key)["scope"])
        url = f"{self.base_url}{scope}/providers/Microsoft.CostManagement/query?api-version={API_VERSION}"
        body = self.query_body(buckets.first, buckets.last)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            answer = self._query(api_key, url, body)
            if answer is None:  # 204 No Content: nothing at this scope
                return
            with buckets.guard(None, "Query"):
                props = answer["properties"]
                columns = [str(c["name"]) for c in props["columns"]]
                rows = props.get("rows") or []
                if not isinstance(rows, list):
                    raise UnexpectedShape(None, "'rows' is not a list")
                for row in rows:
                    self._add_row(buckets, columns, row)
            link = (answer.get("properties") or {}).get("nextLink") or answer.get("nextLink")
            if not link:
                return
            if not isinstance(link, str) or link in seen:
                raise UnexpectedShape(None, "Query: nextLink repeated or invalid")
            if not link.startswith(self.base_url + "/"):
                # The bearer token goes to the API root only.
                raise UnexpectedShape(None, "Query: nextLink points outside the API root")
            seen.add(link)
            url = link
        raise UnexpectedShape(None, f"Query: more than {MAX_PAGES} pages")

    def _query(self, api_key: str, url: str, body: dict[str, Any]) -> dict[str, Any] | None:
        payload = json.dumps(body)
        headers = {"Content-Type": "application/json", **self._headers(api_key)}
        resp = self._send("POST", url, "Query", data=payload, headers=headers)
        if resp.status_code == 401:  # an expired token: one fresh token, then the key is at fault
            headers.update({"Authorization": f"Bearer {self._access_token(api_key, renew=True)}"})
            resp = self._send("POST", url, "Query", data=payload, headers=headers)
        status = resp.status_code
        if status in (401, 403, 404):
            # 403: the app lacks a Cost Management role on the scope; 404: no such subscription.
            raise InvalidCredential(
                self.invalid_key_message, status=status, provider_detail=error_detail(resp)
            )
        if status >= 400:
            raise ProviderRejected(status, error_detail(resp))
        if status == 204 or not resp.content:
            return None
        try:
            answer = json.loads(resp.text, parse_float=Decimal)  # exact money
        except ValueError:
            raise UnexpectedShape(None, "Query: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise UnexpectedShape(None, "Query: the answer is not an object")
        return answer

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        data: Any,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One call with the connectors' bounded retries on 429/5xx/network errors."""
        http = self.http
        all_headers = {"User-Agent": http._user_agent, "Accept": "application/json", **(headers or {})}
        problem = ""
        for attempt in range(1, http.max_attempts + 1):
            try:
                resp = http._session.request(
                    method, url, data=data, headers=all_headers, timeout=http.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"network error ({type(exc).__name__})"
                delay = http._backoff(attempt)
            else:
                if resp.status_code not in RETRYABLE_STATUSES:
                    return resp
                problem = f"HTTP {resp.status_code}"
                delay = self._retry_delay(resp, attempt)
            if not http.wait_before_retry(attempt, what, problem, delay):
                break
        raise ProviderUnavailable(f"{problem} after {http.max_attempts} attempts ({what})")

    def _retry_delay(self, resp: requests.Response, attempt: int) -> float:
        hints = [parse_retry_after(resp.headers.get(name)) for name in RETRY_AFTER_HEADERS]
        waits = [h for h in hints if h is not None]
        if not waits:
            return self.http._backoff(attempt)
        return min(max(max(waits), 0.0), self.http._retry_after_max)

    # rows -------------------------------------------------------------------------------------
    def _add_row(self, buckets: DayBuckets, columns: list[str], row: Any) -> None:
        if not isinstance(row, list) or len(row) != len(columns):
            raise UnexpectedShape(None, "a row does not match the columns")
        values = dict(zip(columns, row, strict=True))
        day = _usage_day(values["UsageDate"])
        with buckets.guard(day, "Query"):
            record = self._record(day, values)
            if record is not None:
                buckets.add(record)

    def _record(self, day: date, values: dict[str, Any]) -> UsageRecord | None:
        cost_name = "Cost" if "Cost" in values else "PreTaxCost"
        cost = to_decimal(values[cost_name])
        currency = str(values.get("Currency") or "")
        if currency.upper() != "USD":
            raise UnexpectedShape(day, f"cost in {currency or 'an unnamed currency'}, not USD")
        quantity: Decimal | None = None
        if values.get("UsageQuantity") is not None:
            quantity = to_decimal(values["UsageQuantity"])
        meter = str(values.get("Meter") or "")
        resource = str(values.get("ResourceId") or "")
        model, unit, scale = meter_tokens(meter)
        counts: dict[str, int] = {}
        if unit is not None and quantity is not None:
            tokens = quantity * scale
            if tokens == tokens.to_integral_value():
                counts[unit] = int(tokens)
        if cost == 0 and not counts:
            return None
        item = LineItem(meter or "(no meter)", quantity, unit or "usage", cost)
        return UsageRecord(
            self.platform,
            day,
            model or UNATTRIBUTED_MODEL,
            "api",
            cost_usd=cost,
            units=counts,
            line_items=(item,),
            amount_original=cost,
            project_id=resource.lower(),
        )


def _usage_day(value: Any) -> date:
    """``UsageDate`` is a number such as 20261130 (or, in some answers, an ISO date string)."""
    if isinstance(value, bool):
        raise UnexpectedShape(None, f"UsageDate {value!r}")
    if isinstance(value, (int, Decimal)) and value == int(value):
        text = str(int(value))
        if len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    raise UnexpectedShape(None, f"UsageDate {value!r} is not a day")


def _oauth_error(resp: requests.Response) -> str:
    """``error: error_description`` of a Microsoft identity platform error answer (short)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(body, dict):
        text = f"{body.get('error', '')}: {body.get('error_description', '')}"
        return text.split("\r\n")[0][:300]
    return str(body)[:300]
