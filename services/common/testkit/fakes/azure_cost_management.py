"""Fake Microsoft identity platform token endpoint + Azure Cost Management Query API.

Written from Microsoft's published references, not from our connector:

- Token (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
  ``POST /{tenant}/oauth2/v2.0/token``, form-encoded ``grant_type=client_credentials``,
  ``client_id``, ``client_secret``, ``scope`` (a resource's ``/.default``). Success: ``token_type``
  ``Bearer``, ``expires_in``, ``access_token``. Errors are ``{"error", "error_description",
  "error_codes", ...}``: an unknown tenant ``invalid_request`` (AADSTS90002, 400), an unknown
  application ``unauthorized_client`` (AADSTS700016, 400), a wrong secret ``invalid_client``
  (AADSTS7000215, 401), a bad scope ``invalid_scope`` (AADSTS70011, 400).
- Query (https://learn.microsoft.com/en-us/rest/api/cost-management/query/usage and the
  swagger in https://github.com/Azure/azure-rest-api-specs, specification/cost-management/
  resource-manager/Microsoft.CostManagement/stable/*/costmanagement.json, ``QueryDefinition``):
  ``POST {scope}/providers/Microsoft.CostManagement/query?api-version=...`` with a bearer token;
  ``type``, ``timeframe`` and ``dataset`` required, ``timePeriod`` (``from``/``to``) with
  ``Custom``; at most 2 aggregations (function ``Sum``) and 2 groupings (``Dimension`` or
  ``TagKey``); ``filter`` with ``and``/``or`` (2 items or more), ``dimensions``/``tags``
  (operator ``In``, 1 value or more). The answer is ``properties.columns`` + ``rows``, the
  aggregated columns first, then ``UsageDate`` (a number such as 20260901) for ``Daily``, then
  the groupings, then ``Currency``; ``properties.nextLink`` carries a ``$skiptoken``. A ``Daily``
  range longer than a month is silently cut to its last month (the documented guardrail), and
  ARM errors are ``{"error": {"code", "message"}}``. 429 answers carry
  ``x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after``.

``token_requests()`` and ``query_requests()`` count the calls.
"""

from __future__ import annotations

import calendar
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

from .base import FakeProviderServer, SeenRequest, dumps

API_VERSIONS = {
    "2019-11-01",
    "2021-10-01",
    "2022-10-01",
    "2023-03-01",
    "2023-11-01",
    "2024-08-01",
    "2025-03-01",
}
TYPES = {"Usage", "ActualCost", "AmortizedCost"}
TIMEFRAMES = {
    "MonthToDate",
    "BillingMonthToDate",
    "TheLastMonth",
    "TheLastBillingMonth",
    "WeekToDate",
    "Custom",
}
DIMENSIONS = {
    "ResourceId",
    "ResourceGroup",
    "ResourceGroupName",
    "ResourceLocation",
    "ServiceName",
    "ServiceTier",
    "MeterCategory",
    "MeterSubCategory",
    "Meter",
    "MeterId",
    "SubscriptionId",
    "ChargeType",
    "PublisherType",
}
AGGREGATE_COLUMNS = {"Cost", "CostUSD", "PreTaxCost", "PreTaxCostUSD", "UsageQuantity"}
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
QUERY_SUFFIX = "/providers/Microsoft.CostManagement/query"


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class OAuthError(Exception):
    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.aadsts, self.description = status, error, aadsts, description


@dataclass(frozen=True)
class AzureCostRow:
    """One line of the fake bill: a day's cost and quantity of one meter on one resource."""

    day: date
    meter: str
    cost: Decimal
    quantity: Decimal = Decimal(0)
    resource: str = "aoai-main"  # the Cognitive Services account name
    resource_group: str = "rg-ai"
    service: str = "Azure OpenAI"
    currency: str = "USD"


class FakeAzureCostManagement(FakeProviderServer):
    """Tenants are service principals: ``tenant()`` makes a fresh tenant id, app, secret and
    subscription. ``api_key`` is the application (client) id."""

    default_key = "11111111-2222-3333-4444-555555555555"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        tenant_id: str | None = None,
        secret: str | None = None,
        subscription: str | None = None,
    ) -> None:
        super().__init__(api_key)
        self.tenant_id = tenant_id or "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        self.secret = secret or "fake~Secret.Value_0000000000000000000000"
        self.subscription = subscription or "99999999-8888-7777-6666-555555555555"
        self.rows: list[AzureCostRow] = []
        self.page_size = 1000  # rows per page
        self.token_lifetime = 3599
        self.role = True  # the app has Cost Management Reader on the subscription
        self.payloads: list[dict[str, Any]] = []
        self._skiptokens: dict[str, tuple[str, int]] = {}
        self._tokens: dict[str, FakeAzureCostManagement] = {}  # on the root: token -> tenant

    # tenants and data -------------------------------------------------------
    def _new_tenant(self, api_key: str) -> Self:
        return type(self)(
            api_key=api_key,
            tenant_id=str(uuid.uuid4()),
            secret=uuid.uuid4().hex[:8] + "~" + uuid.uuid4().hex + ".Q",
            subscription=str(uuid.uuid4()),
        )

    def tenant(self, api_key: str | None = None) -> Self:
        return super().tenant(api_key or str(uuid.uuid4()))

    @property
    def fields(self) -> dict[str, str]:
        """The credential's fields as POST /v1/credentials takes them."""
        return {
            "tenant_id": self.tenant_id,
            "client_id": self.api_key,
            "client_secret": self.secret,
            "scope": self.subscription,
        }

    def resource_id(self, row: AzureCostRow) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{row.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{row.resource}"
        ).lower()

    def load(self, rows: list[AzureCostRow]) -> None:
        self.rows.extend(rows)

    def total(self, service_names: tuple[str, ...] = ("Azure OpenAI", "Cognitive Services")) -> Decimal:
        return sum((r.cost for r in self.rows if r.service in service_names), Decimal(0))

    def throttle(self, times: int = 1, seconds: str = "3") -> None:
        """429 with Cost Management's QPU retry-after header, as the Query API throttles."""
        self.fail(
            429,
            times=times,
            headers={"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": seconds},
            body={"error": {"code": "429", "message": "Too many requests. Please retry."}},
        )

    def token_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.endswith("/oauth2/v2.0/token")]

    def query_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.endswith(QUERY_SUFFIX)]

    # server -------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def _all(self) -> list[FakeAzureCostManagement]:
        with self._lock:
            return [self, *self._tenants]  # type: ignore[list-item]

    def handle(self, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        if path.endswith("/oauth2/v2.0/token"):
            return self._token_endpoint(path, query, headers, body)
        auth = headers.get("authorization", "")
        with self._lock:
            owner = self._tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        target = owner or self
        target._record(path, query, headers)
        failure = target._take_failure()
        if failure is not None:
            return failure.status, failure.headers, failure.body
        try:
            if owner is None:
                raise ArmError(
                    401,
                    "AuthenticationFailed" if not auth else "InvalidAuthenticationToken",
                    "Authentication failed. The 'Authorization' header is missing or invalid.",
                )
            return 200, {}, owner._query(path, query, headers, body)
        except ArmError as exc:
            return exc.status, {}, {"error": {"code": exc.code, "message": exc.message}}

    def _record(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(SeenRequest("POST", path, query, headers))

    # token endpoint -----------------------------------------------------------
    def _token_endpoint(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        tenant_id = path.strip("/").split("/")[0]
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        owner = next(
            (t for t in self._all() if t.tenant_id == tenant_id and t.api_key == form.get("client_id")),
            None,
        )
        (owner or self)._record(path, query, headers)
        failure = (owner or self)._take_failure()
        if failure is not None:
            return failure.status, failure.headers, failure.body
        try:
            token = self._issue(tenant_id, form, headers, owner)
        except OAuthError as exc:
            return (
                exc.status,
                {},
                {
                    "error": exc.error,
                    "error_description": f"AADSTS{exc.aadsts}: {exc.description}",
                    "error_codes": [exc.aadsts],
                    "trace_id": str(uuid.uuid4()),
                    "correlation_id": str(uuid.uuid4()),
                },
            )
        return (
            200,
            {},
            {
                "token_type": "Bearer",
                "expires_in": owner.token_lifetime,
                "ext_expires_in": owner.token_lifetime,
                "access_token": token,
            },
        )  # type: ignore[union-attr]

    def _issue(
        self,
        tenant_id: str,
        form: dict[str, str],
        headers: dict[str, str],
        owner: FakeAzureCostManagement | None,
    ) -> str:
        if headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request", 900144, "The request body must be form-encoded.")
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if not any(t.tenant_id == tenant_id for t in self._all()):
            raise OAuthError(400, "invalid_request", 90002, f"Tenant '{tenant_id}' not found.")
        if owner is None:
            raise OAuthError(
                400, "unauthorized_client", 700016, "Application was not found in the directory."
            )
        if form.get("client_secret") != owner.secret:
            raise OAuthError(401, "invalid_client", 7000215, "Invalid client secret provided.")
        if form.get("scope") != MANAGEMENT_SCOPE:
            raise OAuthError(400, "invalid_scope", 70011, "The provided value for scope is not valid.")
        token = "eyJ0eXAiOiJKV1Qi." + uuid.uuid4().hex
        root = self._root or self
        with root._lock:
            root._tokens[token] = owner
        return token

    # query --------------------------------------------------------------------
    def _query(self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> Any:
        version = (query.get("api-version") or [None])[0]
        if version is None:
            raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        if version not in API_VERSIONS:
            raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
        if not path.endswith(QUERY_SUFFIX):
            raise ArmError(404, "NotFound", "No HTTP resource was found.")
        scope = path[: -len(QUERY_SUFFIX)].split("/")
        # ['', 'subscriptions', id] or ['', 'subscriptions', id, 'resourceGroups', name]
        if len(scope) not in (3, 5) or scope[1].lower() != "subscriptions":
            raise ArmError(400, "BadRequest", "This fake serves subscription and resource group scopes.")
        if scope[2].lower() != self.subscription:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{scope[2]}' could not be found.")
        if not self.role:
            raise ArmError(
                403,
                "AuthorizationFailed",
                "The client does not have authorization to perform action "
                "'Microsoft.CostManagement/query/action' over scope.",
            )
        group = scope[4].lower() if len(scope) == 5 else None
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise ArmError(415, "UnsupportedMediaType", "The content type must be application/json.")
        try:
            request = json.loads(body or b"null")
        except ValueError:
            raise ArmError(400, "BadRequest", "The request body is not JSON.") from None
        if not isinstance(request, dict):
            raise ArmError(400, "BadRequest", "The request body is required.")
        with self._lock:
            self.payloads.append(request)
        first, last, dataset = _validate(request)
        fingerprint = json.dumps(request, sort_keys=True)
        offset = 0
        skiptoken = (query.get("$skiptoken") or [None])[0]
        if skiptoken is not None:
            with self._lock:
                known = self._skiptokens.get(skiptoken)
            if known is None or known[0] != fingerprint:
                raise ArmError(400, "BadRequest", "The $skiptoken is invalid for this query.")
            offset = known[1]
        rows = self._rows(first, last, dataset, group)
        page = rows[offset : offset + self.page_size]
        aggregations = list(dataset.get("aggregation", {}).values())
        groupings = dataset.get("grouping") or []
        columns = [{"name": a["name"], "type": "Number"} for a in aggregations]
        if dataset.get("granularity") == "Daily":
            columns.append({"name": "UsageDate", "type": "Number"})
        columns += [{"name": g["name"], "type": "String"} for g in groupings]
        columns.append({"name": "Currency", "type": "String"})
        next_link = None
        if offset + self.page_size < len(rows):
            token = uuid.uuid4().hex
            with self._lock:
                self._skiptokens[token] = (fingerprint, offset + self.page_size)
            root_url = (self._root or self).url
            next_link = f"{root_url}{path}?api-version={version}&$skiptoken={token}"
        return {
            "id": f"subscriptions/{self.subscription}{QUERY_SUFFIX}/{uuid.uuid4()}",
            "name": str(uuid.uuid4()),
            "type": "Microsoft.CostManagement/query",
            "properties": {"nextLink": next_link, "columns": columns, "rows": page},
        }

    def _rows(self, first: date, last: date, dataset: dict[str, Any], group: str | None) -> list[list[Any]]:
        daily = dataset.get("granularity") == "Daily"
        groupings = [g["name"] for g in dataset.get("grouping") or []]
        aggregations = [a["name"] for a in dataset.get("aggregation", {}).values()]
        sums: dict[tuple[Any, ...], list[Decimal]] = {}
        for row in self.rows:
            if not first <= row.day <= last or (group and row.resource_group.lower() != group):
                continue
            if not _matches(self, row, dataset.get("filter")):
                continue
            key = (
                ((int(row.day.strftime("%Y%m%d")),) if daily else ())
                + tuple(_dimension(self, row, g) for g in groupings)
                + (row.currency,)
            )
            totals = sums.setdefault(key, [Decimal(0)] * len(aggregations))
            for i, name in enumerate(aggregations):
                totals[i] += row.quantity if name == "UsageQuantity" else row.cost
        return [[*totals, *key] for key, totals in sorted(sums.items(), key=lambda kv: str(kv[0]))]


def _validate(request: dict[str, Any]) -> tuple[date, date, dict[str, Any]]:
    for name in ("type", "timeframe", "dataset"):
        if name not in request:
            raise ArmError(400, "BadRequest", f"'{name}' is required.")
    if request["type"] not in TYPES:
        raise ArmError(400, "BadRequest", f"Invalid query type '{request['type']}'.")
    if request["timeframe"] not in TIMEFRAMES:
        raise ArmError(400, "BadRequest", f"Invalid timeframe '{request['timeframe']}'.")
    if request["timeframe"] != "Custom":
        raise ArmError(400, "BadRequest", "This fake serves the Custom timeframe only.")
    period = request.get("timePeriod")
    if not isinstance(period, dict) or "from" not in period or "to" not in period:
        raise ArmError(
            400, "BadRequest", "timePeriod with 'from' and 'to' is required for a Custom timeframe."
        )
    try:
        first, last = date.fromisoformat(period["from"][:10]), date.fromisoformat(period["to"][:10])
    except (TypeError, ValueError):
        raise ArmError(400, "BadRequest", "timePeriod 'from' and 'to' must be date-times.") from None
    if first > last:
        first, last = last, first  # the documented behaviour: silently swapped
    dataset = request["dataset"]
    if not isinstance(dataset, dict):
        raise ArmError(400, "BadRequest", "'dataset' must be an object.")
    if dataset.get("granularity") not in (None, "Daily", "Monthly", "None"):
        raise ArmError(400, "BadRequest", f"Invalid granularity '{dataset.get('granularity')}'.")
    if dataset.get("granularity") == "Daily":
        earliest = _month_before(last) + timedelta(days=1)
        first = max(first, earliest)  # a Daily range is cut to its last month
    aggregation = dataset.get("aggregation") or {}
    if not isinstance(aggregation, dict) or len(aggregation) > 2:
        raise ArmError(400, "BadRequest", "A query can have up to 2 aggregation clauses.")
    for clause in aggregation.values():
        if clause.get("function") != "Sum" or clause.get("name") not in AGGREGATE_COLUMNS:
            raise ArmError(400, "BadRequest", f"Invalid aggregation {clause}.")
    grouping = dataset.get("grouping") or []
    if not isinstance(grouping, list) or len(grouping) > 2:
        raise ArmError(400, "BadRequest", "A query can have up to 2 group by clauses.")
    for clause in grouping:
        if clause.get("type") not in ("Dimension", "TagKey") or not clause.get("name"):
            raise ArmError(400, "BadRequest", f"Invalid grouping {clause}.")
        if clause["type"] == "Dimension" and clause["name"] not in DIMENSIONS:
            raise ArmError(400, "BadRequest", f"Invalid dimension '{clause['name']}'.")
    _check_filter(dataset.get("filter"))
    return first, last, dataset


def _month_before(day: date) -> date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _check_filter(expr: Any) -> None:
    if expr is None:
        return
    if not isinstance(expr, dict) or len(expr) != 1:
        raise ArmError(400, "BadRequest", "A filter expression has exactly one of and, or, dimensions, tags.")
    ((kind, value),) = expr.items()
    if kind in ("and", "or"):
        if not isinstance(value, list) or len(value) < 2:
            raise ArmError(400, "BadRequest", f"'{kind}' must have at least 2 items.")
        for item in value:
            _check_filter(item)
    elif kind in ("dimensions", "tags"):
        if value.get("operator") != "In" or not value.get("values") or not value.get("name"):
            raise ArmError(400, "BadRequest", "A comparison needs name, operator In and at least one value.")
        if kind == "dimensions" and value["name"] not in DIMENSIONS:
            raise ArmError(400, "BadRequest", f"Invalid dimension '{value['name']}'.")
    else:
        raise ArmError(400, "BadRequest", f"Unknown filter '{kind}'.")


def _dimension(fake: FakeAzureCostManagement, row: AzureCostRow, name: str) -> str:
    return {
        "Meter": row.meter,
        "ResourceId": fake.resource_id(row),
        "ServiceName": row.service,
        "ResourceGroup": row.resource_group,
        "ResourceGroupName": row.resource_group,
    }.get(name, "")


def _matches(fake: FakeAzureCostManagement, row: AzureCostRow, expr: Any) -> bool:
    if expr is None:
        return True
    ((kind, value),) = expr.items()
    if kind == "and":
        return all(_matches(fake, row, e) for e in value)
    if kind == "or":
        return any(_matches(fake, row, e) for e in value)
    if kind == "dimensions":
        return _dimension(fake, row, value["name"]) in value["values"]
    return False  # tags: the fake's rows have none


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[FakeAzureCostManagement]

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        status, extra, answer = self.fake.handle(self.path, headers, body)
        payload = dumps(answer) if answer is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass
