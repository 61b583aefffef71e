"""Fake AWS Cost Explorer ``GetCostAndUsage`` (the JSON 1.1 protocol), for the real botocore client.

Written from botocore's service model (``botocore/data/ce/2017-10-25/service-2.json``: protocol
``json`` 1.1, target prefix ``AWSInsightsIndexService``, signing name ``ce``, SigV4) and the
public API reference (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/
API_GetCostAndUsage.html):

- every request is ``POST /`` with ``X-Amz-Target: AWSInsightsIndexService.GetCostAndUsage`` and
  ``Content-Type: application/x-amz-json-1.1``;
- the ``Authorization`` header is a SigV4 signature (``AWS4-HMAC-SHA256 Credential=AKID/date/
  region/ce/aws4_request, SignedHeaders=..., Signature=...``). The fake recomputes it with the
  tenant's secret key (the algorithm of https://docs.aws.amazon.com/IAM/latest/UserGuide/
  create-signed-request.html): an unknown key ID is ``UnrecognizedClientException``, a wrong
  signature ``InvalidSignatureException`` (both HTTP 400, the JSON protocol's error body
  ``{"__type": ..., "message": ...}``);
- ``TimePeriod`` (Start inclusive, End exclusive), ``Granularity`` and ``Metrics`` are required
  (``ValidationException`` otherwise); ``Filter`` (And/Or/Not, Dimensions, ProductAttributes) and
  up to two ``GroupBy`` (DIMENSION, or PRODUCT_ATTRIBUTE with keys ``key$value``; grouping or
  filtering by product attributes keeps only supported services: Amazon Bedrock) are honoured;
- amounts are decimal strings (``MetricValue.Amount``); pages follow ``NextPageToken`` (a page
  holds ``page_size`` days), and a token reused with changed parameters is refused.

``requests`` counts every call (Cost Explorer charges per request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Self

from .base import FakeProviderServer, SeenRequest, _Failure

TARGET = "AWSInsightsIndexService.GetCostAndUsage"
CONTENT_TYPE = "application/x-amz-json-1.1"
BEDROCK = "Amazon Bedrock"
PRODUCT_ATTRIBUTE_SERVICES = {BEDROCK}  # "Currently, Amazon Bedrock is the only supported service"
METRIC_NAMES = {
    "AmortizedCost",
    "BlendedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "NormalizedUsageAmount",
    "UnblendedCost",
    "UsageQuantity",
}
GROUP_DIMENSIONS = {
    "AZ",
    "INSTANCE_TYPE",
    "LEGAL_ENTITY_NAME",
    "INVOICING_ENTITY",
    "LINKED_ACCOUNT",
    "OPERATION",
    "PLATFORM",
    "PURCHASE_TYPE",
    "SERVICE",
    "TENANCY",
    "RECORD_TYPE",
    "USAGE_TYPE",
}
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<akid>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


class CostExplorerError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class CostRow:
    """One line of the fake bill: a day's cost (and usage) of one usage type."""

    day: date
    usage_type: str
    cost: Decimal
    quantity: Decimal = Decimal(0)
    model: str | None = None  # the ``model`` product attribute, where the cost has one
    service: str = BEDROCK


class FakeCostExplorer(FakeProviderServer):
    """Tenants are access keys: ``tenant()`` makes a fresh access key ID and secret."""

    default_key = "AKIAFAKE000000000000"
    default_secret = "fakeSecretAccessKey000000000000000000000"
    region = "us-east-1"

    def __init__(self, api_key: str | None = None, secret: str | None = None) -> None:
        super().__init__(api_key)
        self.secret = secret or self.default_secret
        self.rows: list[CostRow] = []
        self.page_size = 31  # days per page
        self._tokens: dict[str, tuple[str, int]] = {}  # token -> (request fingerprint, offset)
        self.payloads: list[dict[str, Any]] = []  # the decoded bodies of signed, well-formed requests

    # tenants and data -------------------------------------------------------
    def _new_tenant(self, api_key: str) -> Self:
        return type(self)(api_key=api_key, secret=uuid.uuid4().hex + uuid.uuid4().hex[:8])

    def tenant(self, api_key: str | None = None) -> Self:
        key = api_key or "AKIA" + uuid.uuid4().hex[:16].upper()
        return super().tenant(key)

    @property
    def fields(self) -> dict[str, str]:
        """The credential's fields as POST /v1/credentials takes them."""
        return {"access_key_id": self.api_key, "secret_access_key": self.secret}

    def load(self, rows: list[CostRow]) -> None:
        self.rows.extend(rows)

    def total(self, first: date | None = None, last: date | None = None) -> Decimal:
        return sum(
            (
                r.cost
                for r in self.rows
                if r.service == BEDROCK
                and (first is None or r.day >= first)
                and (last is None or r.day <= last)
            ),
            Decimal(0),
        )

    def throttle(self, times: int = 1) -> None:
        """LimitExceededException ("You made too many calls in a short period of time")."""
        self.fail(400, times=times, body=error_body("LimitExceededException", "Rate exceeded"))

    def cost_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.headers.get("x-amz-target") == TARGET]

    # server -------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _JsonHandler

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        match = _AUTH.match(headers.get("authorization", ""))
        akid = match.group("akid") if match else None
        with self._lock:
            tenants = list(self._tenants)
        owner = next((t for t in [self, *tenants] if t.api_key == akid), self)
        try:
            return 200, owner._answer_post(path, headers, body, match)
        except CostExplorerError as exc:
            return exc.status, error_body(exc.code, exc.message)

    def _answer_post(self, path: str, headers: dict[str, str], body: bytes, auth: re.Match | None) -> Any:
        with self._lock:
            self.requests.append(SeenRequest("POST", path, {}, headers))
            failure: _Failure | None = self._failures[0] if self._failures else None
            if failure is not None and failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.pop(0)
        if failure is not None:
            raise CostExplorerError(
                (failure.body or {}).get("__type", "InternalFailure"),
                (failure.body or {}).get("message", ""),
                failure.status,
            )
        if path != "/":
            raise CostExplorerError("UnknownOperationException", "not found", 404)
        if "authorization" not in headers:
            raise CostExplorerError("MissingAuthenticationTokenException", "Missing Authentication Token")
        if auth is None:
            raise CostExplorerError("IncompleteSignatureException", "Authorization header is not SigV4")
        if auth.group("akid") != self.api_key:
            raise CostExplorerError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        self._check_signature(path, headers, body, auth)
        if headers.get("x-amz-target") != TARGET:
            raise CostExplorerError("UnknownOperationException", "unknown X-Amz-Target")
        if headers.get("content-type", "").split(";")[0].strip() != CONTENT_TYPE:
            raise CostExplorerError("SerializationException", f"Content-Type must be {CONTENT_TYPE}")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise CostExplorerError("SerializationException", "the body is not JSON") from None
        with self._lock:
            self.payloads.append(request)
        return self.get_cost_and_usage(request)

    def _check_signature(self, path: str, headers: dict[str, str], body: bytes, auth: re.Match) -> None:
        if auth.group("service") != "ce" or auth.group("region") != self.region:
            raise CostExplorerError(
                "InvalidSignatureException", "Credential should be scoped to ce/us-east-1"
            )
        amz_date = headers.get("x-amz-date", "")
        signed = auth.group("signed").split(";")
        if "host" not in signed or "x-amz-date" not in signed or not amz_date.startswith(auth.group("date")):
            raise CostExplorerError("IncompleteSignatureException", "host and x-amz-date must be signed")
        if any(name not in headers for name in signed):
            raise CostExplorerError("IncompleteSignatureException", "a signed header is missing")
        canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in signed)
        canonical = "\n".join(
            ["POST", path, "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
        )
        scope = f"{auth.group('date')}/{self.region}/ce/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self.secret).encode()
        for part in (auth.group("date"), self.region, "ce", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, auth.group("signature")):
            raise CostExplorerError(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )

    # the operation ------------------------------------------------------------
    def get_cost_and_usage(self, request: dict[str, Any]) -> dict[str, Any]:
        for name in ("TimePeriod", "Granularity", "Metrics"):
            if name not in request:
                raise CostExplorerError("ValidationException", f"{name} is required")
        period = request["TimePeriod"]
        try:
            start, end = date.fromisoformat(period["Start"][:10]), date.fromisoformat(period["End"][:10])
        except (KeyError, TypeError, ValueError):
            raise CostExplorerError("ValidationException", "TimePeriod needs Start and End dates") from None
        if start >= end:
            raise CostExplorerError("ValidationException", "Start date should be before end date")
        if request["Granularity"] not in ("DAILY", "MONTHLY", "HOURLY"):
            raise CostExplorerError("ValidationException", "Granularity must be DAILY, MONTHLY or HOURLY")
        if request["Granularity"] != "DAILY":
            raise CostExplorerError("ValidationException", "this fake serves DAILY granularity only")
        metrics = request["Metrics"]
        if not isinstance(metrics, list) or not metrics or not set(metrics) <= METRIC_NAMES:
            raise CostExplorerError("ValidationException", "Metrics must name valid metrics")
        group_by = request.get("GroupBy") or []
        if len(group_by) > 2:
            raise CostExplorerError("ValidationException", "You can group by up to two groups")
        for group in group_by:
            kind, key = group.get("Type"), group.get("Key")
            if kind == "DIMENSION" and key not in GROUP_DIMENSIONS:
                raise CostExplorerError("ValidationException", f"cannot group by dimension {key}")
            if kind not in ("DIMENSION", "PRODUCT_ATTRIBUTE"):
                raise CostExplorerError("ValidationException", f"this fake cannot group by {kind}")
        filter_ = request.get("Filter")
        product_attributes = any(g["Type"] == "PRODUCT_ATTRIBUTE" for g in group_by) or _uses_attributes(
            filter_
        )

        days = [start + timedelta(days=i) for i in range((end - start).days)]
        fingerprint = json.dumps({k: v for k, v in request.items() if k != "NextPageToken"}, sort_keys=True)
        offset = 0
        token = request.get("NextPageToken")
        if token is not None:
            with self._lock:
                known = self._tokens.get(token)
            if known is None:
                raise CostExplorerError("InvalidNextTokenException", "The pagination token is invalid.")
            if known[0] != fingerprint:
                raise CostExplorerError("RequestChangedException", "Your request parameters changed.")
            offset = known[1]
        page = days[offset : offset + self.page_size]
        results = []
        for day in page:
            rows = [
                r
                for r in self.rows
                if r.day == day
                and (not product_attributes or r.service in PRODUCT_ATTRIBUTE_SERVICES)
                and _matches(r, filter_)
            ]
            results.append(self._result(day, rows, metrics, group_by))
        answer: dict[str, Any] = {
            "GroupDefinitions": [{"Type": g["Type"], "Key": g["Key"]} for g in group_by],
            "ResultsByTime": results,
            "DimensionValueAttributes": [],
        }
        if offset + self.page_size < len(days):
            next_token = uuid.uuid4().hex
            with self._lock:
                self._tokens[next_token] = (fingerprint, offset + self.page_size)
            answer["NextPageToken"] = next_token
        return answer

    def _result(self, day: date, rows: list[CostRow], metrics: list[str], group_by: list[dict]) -> dict:
        period = {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}
        if not group_by:
            return {"TimePeriod": period, "Total": _metrics(rows, metrics), "Groups": [], "Estimated": False}
        grouped: dict[tuple[str, ...], list[CostRow]] = {}
        for row in rows:
            grouped.setdefault(tuple(_group_key(row, g) for g in group_by), []).append(row)
        groups = [
            {"Keys": list(keys), "Metrics": _metrics(rs, metrics)} for keys, rs in sorted(grouped.items())
        ]
        return {"TimePeriod": period, "Total": {}, "Groups": groups, "Estimated": False}


def error_body(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "message": message}


def _metrics(rows: list[CostRow], names: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for name in names:
        if name == "UsageQuantity":
            out[name] = {"Amount": str(sum((r.quantity for r in rows), Decimal(0))), "Unit": "N/A"}
        elif name == "NormalizedUsageAmount":
            out[name] = {"Amount": "0", "Unit": "N/A"}
        else:
            out[name] = {"Amount": str(sum((r.cost for r in rows), Decimal(0))), "Unit": "USD"}
    return out


def _group_key(row: CostRow, group: dict[str, str]) -> str:
    if group["Type"] == "PRODUCT_ATTRIBUTE":
        value = row.model if group["Key"] == "model" else None
        return f"{group['Key']}${value or ''}"
    return {"SERVICE": row.service, "USAGE_TYPE": row.usage_type}.get(group["Key"], "NoValue")


def _uses_attributes(expr: Any) -> bool:
    if not isinstance(expr, dict):
        return False
    if "ProductAttributes" in expr:
        return True
    return any(_uses_attributes(e) for e in expr.get("And", []) + expr.get("Or", [])) or _uses_attributes(
        expr.get("Not")
    )


def _matches(row: CostRow, expr: Any) -> bool:
    if expr is None:
        return True
    if not isinstance(expr, dict) or len(expr) != 1:
        raise CostExplorerError("ValidationException", "an Expression has exactly one member")
    ((kind, value),) = expr.items()
    if kind == "And":
        return all(_matches(row, e) for e in value)
    if kind == "Or":
        return any(_matches(row, e) for e in value)
    if kind == "Not":
        return not _matches(row, value)
    if kind == "Dimensions":
        actual = {"SERVICE": row.service, "USAGE_TYPE": row.usage_type}.get(value["Key"])
        return actual in value.get("Values", [])
    if kind == "ProductAttributes":
        actual = row.model if value["Key"] == "model" else None
        if "ABSENT" in value.get("MatchOptions", []):
            return not actual
        return actual in value.get("Values", [])
    raise CostExplorerError("ValidationException", f"this fake cannot filter by {kind}")


class _JsonHandler(BaseHTTPRequestHandler):
    fake: ClassVar[FakeCostExplorer]

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        status, answer = self.fake.handle(self.path, headers, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", uuid.uuid4().hex)
        if status != 200:
            self.send_header("x-amzn-ErrorType", answer.get("__type", ""))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass
