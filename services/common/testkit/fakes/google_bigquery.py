"""Fake Google OAuth token endpoint and BigQuery ``jobs.query`` over a Cloud Billing export table,
for the real google-auth and google-cloud-bigquery clients.

Written from Google's public references:

- the OAuth 2.0 JWT-bearer grant of service accounts
  (https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests):
  ``POST token_uri`` with ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an
  ``assertion`` JWT signed RS256 with the key's private key (header ``kid`` = ``private_key_id``;
  claims ``iss`` = the client_email, ``scope``, ``aud`` = ``https://oauth2.googleapis.com/token``,
  ``iat``, ``exp`` at most an hour later). The answer is ``{"access_token", "expires_in",
  "token_type": "Bearer"}``; a bad signature or unknown account is HTTP 400 ``invalid_grant``.
  The fake verifies the signature with the public half of the key it issued (``service_account``);
- BigQuery ``jobs.query`` (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query):
  ``POST /bigquery/v2/projects/{projectId}/queries`` with a ``QueryRequest`` (``query``,
  ``useLegacySql``, ``parameterMode``, ``queryParameters``, ``maxResults``, ...) answered by a
  ``QueryResponse`` (``schema.fields``, ``rows[].f[].v`` where every value is a string,
  ``totalRows``, ``pageToken``, ``jobReference``, ``jobComplete``); further pages by
  ``jobs.getQueryResults`` (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/
  getQueryResults: ``GET .../queries/{jobId}?pageToken=``) and the job itself by ``jobs.get``
  (``GET .../jobs/{jobId}``), which the client library calls when there is more than one page;
- errors as ``{"error": {"code", "message", "errors": [{"reason", "message", "domain"}],
  "status"}}`` (https://cloud.google.com/bigquery/docs/error-messages): 401 without a valid
  token, 403 ``accessDenied`` without BigQuery Job User on the query's project or Data Viewer on
  the table, 404 ``notFound`` for an unknown table, 400 ``invalidQuery`` for a query it cannot run.

The fake does not run SQL: it answers THE billing query (docs/providers.md) over the rows of its
export table, as BigQuery would: rows whose ``usage_start_time`` is in ``[@start, @end)`` and
whose ``service.description`` is in ``@services``, grouped by UTC day, service, SKU, currency and
usage unit, with ``cost`` and the credits' amounts cast to NUMERIC (rounded to 9 decimals, as
``CAST(FLOAT64 AS NUMERIC)`` does) and summed. It refuses a query that does not select the
documented columns it answers, or whose parameters are missing or mistyped.

The export's columns are those of the standard usage cost data
(https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/standard-usage):
``usage_start_time``, ``service.description``, ``sku.id``, ``sku.description``, ``cost``
(FLOAT64), ``currency``, ``usage.amount``, ``usage.unit``, ``credits`` (REPEATED RECORD of
``name``, ``amount``, ...).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

from .base import FakeProviderServer, SeenRequest

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
BIGQUERY_SCOPES = {
    "https://www.googleapis.com/auth/bigquery",
    "https://www.googleapis.com/auth/bigquery.readonly",
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/cloud-platform.read-only",
}
VERTEX_AI = "Vertex AI"
GEMINI_API = "Gemini API"
NUMERIC_SCALE = Decimal("0.000000001")  # NUMERIC keeps 9 decimal digits
# The columns THE billing query selects (name -> BigQuery type), in order.
RESULT_SCHEMA = (
    ("usage_day", "DATE"),
    ("service", "STRING"),
    ("sku_id", "STRING"),
    ("sku", "STRING"),
    ("currency", "STRING"),
    ("usage_unit", "STRING"),
    ("cost", "NUMERIC"),
    ("credits", "NUMERIC"),
    ("usage_amount", "NUMERIC"),
)
_PATH = re.compile(r"^/bigquery/v2/projects/(?P<project>[^/]+)/(?P<kind>queries|jobs)(?:/(?P<job>[^/]+))?$")


class BigQueryError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message

    def body(self) -> dict[str, Any]:
        statuses = {
            400: "INVALID_ARGUMENT",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
        }
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
                "status": statuses.get(self.status, "INTERNAL"),
            }
        }


@dataclass(frozen=True)
class BillingRow:
    """One row of the standard billing export (a SKU's usage over an hour or so)."""

    usage_start_time: datetime
    service: str
    sku: str
    cost: Decimal  # exported as FLOAT64
    usage_amount: Decimal = Decimal(0)
    usage_unit: str = "count"
    credits: tuple[Decimal, ...] = ()  # credits[].amount: negative
    sku_id: str = ""
    currency: str = "USD"
    project_id: str = "my-ai-project"

    def net(self) -> Decimal:
        return _numeric(self.cost) + sum((_numeric(c) for c in self.credits), Decimal(0))


@dataclass
class _Account:
    """The service account a tenant is: its JSON key and what IAM lets it do."""

    email: str
    key_id: str
    private_pem: str
    public_key: Any
    job_user_projects: set[str] = field(default_factory=set)
    readable_tables: set[str] = field(default_factory=set)


def _numeric(value: Decimal) -> Decimal:
    """CAST(FLOAT64 AS NUMERIC): the float the export stores, rounded half away to 9 decimals."""
    return Decimal(float(value)).quantize(NUMERIC_SCALE, rounding=ROUND_HALF_UP)


def _numeric_text(value: Decimal) -> str:
    text = format(value.quantize(NUMERIC_SCALE), "f").rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


class FakeBigQuery(FakeProviderServer):
    """Tenants are service accounts: ``tenant()`` makes a fresh key, project, dataset and table.

    ``url`` is the API root (``https://bigquery.googleapis.com``); the token endpoint is
    ``token_url`` on the same server, named in the key's ``token_uri``.
    """

    default_key = "billing-reader@my-ai-project.iam.gserviceaccount.com"

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(api_key)
        self.project = "my-ai-project"
        self.table = f"{self.project}.billing_export.gcp_billing_export_v1_{uuid.uuid4().hex[:6].upper()}"
        self.rows: list[BillingRow] = []
        self.page_size = 1000
        self.account = _new_account(self.api_key, self.project, self.table)
        self._tokens: dict[str, float] = {}  # access token -> expiry (this tenant's)
        self._jobs: dict[str, tuple[list[list[str | None]], dict[str, Any]]] = {}
        self.query_bodies: list[dict[str, Any]] = []  # the QueryRequests that were answered

    def _new_tenant(self, api_key: str) -> Self:
        return type(self)(api_key=api_key)

    def tenant(self, api_key: str | None = None) -> Self:
        name = uuid.uuid4().hex[:10]
        return super().tenant(api_key or f"reader-{name}@project-{name}.iam.gserviceaccount.com")

    # data ---------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def service_account(self, key: str | None = None) -> dict[str, str]:
        """The JSON key file of this tenant's service account (``key``: another private key)."""
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": self.account.key_id,
            "private_key": key or self.account.private_pem,
            "client_email": self.account.email,
            "client_id": str(uuid.uuid4().int)[:21],
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_url,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        }

    @property
    def fields(self) -> dict[str, str]:
        """The credential's fields as POST /v1/credentials takes them."""
        return {
            "service_account_json": json.dumps(self.service_account(), indent=2),
            "billing_table": self.table,
        }

    def load(self, rows: list[BillingRow]) -> None:
        self.rows.extend(rows)

    def total(self, services: tuple[str, ...] = (VERTEX_AI, GEMINI_API)) -> Decimal:
        return sum((r.net() for r in self.rows if r.service in services), Decimal(0))

    def revoke_job_user(self) -> None:
        self.account.job_user_projects.clear()

    def query_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/queries")]

    def token_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == "/token"]

    # server ---------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _GoogleHandler

    def _all(self) -> list[FakeBigQuery]:
        with self._lock:
            return [self, *self._tenants]  # type: ignore[list-item]

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path == "/token" and method == "POST":
            return self._token(headers, body)
        bearer = headers.get("authorization", "")
        token = bearer[7:] if bearer.startswith("Bearer ") else ""
        owner = next((t for t in self._all() if t._tokens.get(token, 0) > time.time()), None)
        if owner is None:
            self.requests.append(SeenRequest(method, parts.path, query, headers))
            return 401, BigQueryError(
                401, "unauthorized", "Request had invalid authentication credentials."
            ).body()
        try:
            return 200, owner._bigquery(method, parts.path, query, headers, body)
        except BigQueryError as exc:
            return exc.status, exc.body()

    # OAuth ------------------------------------------------------------------------
    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request", "error_description": "form body expected"}
        if form.get("grant_type") != JWT_GRANT:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        try:
            header_b64, payload_b64, signature_b64 = form.get("assertion", "").split(".")
            header = json.loads(_b64decode(header_b64))
            claims = json.loads(_b64decode(payload_b64))
            signature = _b64decode(signature_b64)
        except ValueError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: not a JWT"}
        owner = next((t for t in self._all() if t.account.email == claims.get("iss")), None)
        if owner is None:
            self.requests.append(SeenRequest("POST", "/token", {}, headers))
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"}
        with owner._lock:
            owner.requests.append(SeenRequest("POST", "/token", {}, headers))
        if header.get("alg") != "RS256":
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: alg must be RS256"}
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            owner.account.public_key.verify(
                signature, f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        now = time.time()
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Failed audience check."}
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int)
            or not isinstance(exp, int)
            or exp - iat > 3600
            or exp < now
            or iat > now + 300
        ):
            return 400, {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe.",
            }
        if not set(str(claims.get("scope", "")).split()) & BIGQUERY_SCOPES:
            return 400, {"error": "invalid_scope", "error_description": "no BigQuery scope requested"}
        access = "ya29.fake-" + uuid.uuid4().hex
        with owner._lock:
            owner._tokens[access] = now + 3600
        return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    # BigQuery (injected failures answer BigQuery calls, never the token endpoint) ------------
    def _bigquery(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        with self._lock:
            self.requests.append(SeenRequest(method, path, query, headers))
        failure = self._take_failure()
        if failure is not None:
            raise BigQueryError(
                failure.status, (failure.body or {}).get("reason", "backendError"), "injected"
            )
        match = _PATH.match(path)
        if match is None:
            raise BigQueryError(404, "notFound", f"Not found: URL {path}")
        project, kind, job = match.group("project"), match.group("kind"), match.group("job")
        if kind == "queries" and job is None and method == "POST":
            return self.jobs_query(project, json.loads(body or b"{}"))
        if kind == "queries" and job is not None and method == "GET":
            return self.get_query_results(project, job, query)
        if kind == "jobs" and job is not None and method == "GET":
            return self.get_job(project, job)
        raise BigQueryError(404, "notFound", f"Not found: {method} {path}")

    def jobs_query(self, project: str, request: dict[str, Any]) -> dict[str, Any]:
        if project not in self.account.job_user_projects:
            raise BigQueryError(
                403,
                "accessDenied",
                f"Access Denied: Project {project}: User does not have bigquery.jobs.create permission in "
                f"project {project}.",
            )
        sql = request.get("query")
        if not isinstance(sql, str) or not sql.strip():
            raise BigQueryError(400, "invalid", "Required parameter is missing: query")
        if request.get("useLegacySql") is not False:
            raise BigQueryError(400, "invalidQuery", "Query parameters cannot be used in legacy SQL queries.")
        table = re.search(r"\bFROM\s+`([^`]+)`", sql)
        if table is None:
            raise BigQueryError(
                400, "invalidQuery", "this fake answers the billing query only (FROM `table`)"
            )
        name = table.group(1)
        if name != self.table:
            raise BigQueryError(
                404, "notFound", f"Not found: Table {name.replace('.', ':', 1)} was not found"
            )
        if name not in self.account.readable_tables:
            raise BigQueryError(
                403,
                "accessDenied",
                f"Access Denied: Table {name.replace('.', ':', 1)}: User does not have permission to query "
                "table (bigquery.tables.getData).",
            )
        for alias, _ in RESULT_SCHEMA:
            if not re.search(rf"\bAS\s+{alias}\b", sql):
                raise BigQueryError(
                    400, "invalidQuery", f"this fake answers the billing query: no column {alias}"
                )
        for column in ("usage_start_time", "service.description", "sku.description", "cost", "credits"):
            if column not in sql:
                raise BigQueryError(400, "invalidQuery", f"the billing query reads {column}")
        start, end, services = self._parameters(request)
        rows = self._answer(start, end, services)
        self.query_bodies.append(request)
        job_id = "job_" + uuid.uuid4().hex
        schema = {"fields": [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in RESULT_SCHEMA]}
        with self._lock:
            self._jobs[job_id] = (rows, {"project": project, "query": sql})
        size = _max_results(request.get("maxResults"), self.page_size)
        answer = self._page(project, job_id, rows, 0, size)
        answer.update(
            {
                "kind": "bigquery#queryResponse",
                "schema": schema,
                "totalBytesProcessed": str(1024 * max(1, len(self.rows))),
                "cacheHit": False,
                "queryId": "query_" + uuid.uuid4().hex,
            }
        )
        return answer

    def _parameters(self, request: dict[str, Any]) -> tuple[datetime, datetime, set[str]]:
        if request.get("parameterMode") != "NAMED":
            raise BigQueryError(400, "invalidQuery", "parameterMode must be NAMED for @name parameters")
        params: dict[str, Any] = {}
        for p in request.get("queryParameters") or []:
            params[p.get("name")] = p
        for name, kind in (("start", "TIMESTAMP"), ("end", "TIMESTAMP")):
            p = params.get(name)
            if p is None or p.get("parameterType", {}).get("type") != kind:
                raise BigQueryError(400, "invalidQuery", f"Query parameter '{name}' of type {kind} not found")
        services = params.get("services")
        if (
            services is None
            or services.get("parameterType", {}).get("type") != "ARRAY"
            or services["parameterType"].get("arrayType", {}).get("type") != "STRING"
        ):
            raise BigQueryError(
                400, "invalidQuery", "Query parameter 'services' of type ARRAY<STRING> not found"
            )
        try:
            start = _timestamp(params["start"]["parameterValue"]["value"])
            end = _timestamp(params["end"]["parameterValue"]["value"])
            names = {v["value"] for v in services["parameterValue"].get("arrayValues", [])}
        except (KeyError, TypeError, ValueError):
            raise BigQueryError(400, "invalidQuery", "a query parameter has no valid value") from None
        if end <= start:
            raise BigQueryError(400, "invalidQuery", "@end must be after @start")
        return start, end, names

    def _answer(self, start: datetime, end: datetime, services: set[str]) -> list[list[str | None]]:
        groups: dict[tuple[str, str, str, str, str, str], list[Decimal]] = {}
        for r in self.rows:
            if not (start <= r.usage_start_time < end) or r.service not in services:
                continue
            day = r.usage_start_time.astimezone(UTC).date().isoformat()
            key = (day, r.service, r.sku_id, r.sku, r.currency, r.usage_unit)
            sums = groups.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
            sums[0] += _numeric(r.cost)
            sums[1] += sum((_numeric(c) for c in r.credits), Decimal(0))
            sums[2] += _numeric(r.usage_amount)
        return [[*key, *(_numeric_text(v) for v in sums)] for key, sums in sorted(groups.items())]

    def _page(self, project: str, job_id: str, rows: list[list[str | None]], offset: int, size: int) -> dict:
        chunk = rows[offset : offset + size]
        answer: dict[str, Any] = {
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "totalRows": str(len(rows)),
            "rows": [{"f": [{"v": v} for v in row]} for row in chunk],
            "jobComplete": True,
        }
        if offset + size < len(rows):
            answer["pageToken"] = f"{job_id}:{offset + size}"
        return answer

    def get_query_results(self, project: str, job_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job[1]["project"] != project:
            raise BigQueryError(404, "notFound", f"Not found: Job {project}:US.{job_id}")
        rows = job[0]
        token = (query.get("pageToken") or [""])[0]
        offset = 0
        if token:
            prefix, _, number = token.rpartition(":")
            if prefix != job_id or not number.isdigit():
                raise BigQueryError(400, "invalid", "Invalid page token")
            offset = int(number)
        elif query.get("startIndex"):
            offset = int(query["startIndex"][0])
        size = _max_results((query.get("maxResults") or [None])[0], self.page_size)
        answer = self._page(project, job_id, rows, offset, size)
        answer["kind"] = "bigquery#getQueryResultsResponse"
        answer["schema"] = {"fields": [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in RESULT_SCHEMA]}
        answer["etag"] = uuid.uuid4().hex
        if size == 0:
            answer.pop("rows")
            answer.pop("pageToken", None)
        return answer

    def get_job(self, project: str, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job[1]["project"] != project:
            raise BigQueryError(404, "notFound", f"Not found: Job {project}:US.{job_id}")
        now_ms = str(int(time.time() * 1000))
        return {
            "kind": "bigquery#job",
            "id": f"{project}:US.{job_id}",
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "configuration": {"jobType": "QUERY", "query": {"query": job[1]["query"], "useLegacySql": False}},
            "status": {"state": "DONE"},
            "statistics": {"creationTime": now_ms, "startTime": now_ms, "endTime": now_ms, "query": {}},
            "user_email": self.account.email,
        }


def _max_results(value: Any, page_size: int) -> int:
    if value is None or value == "":
        return page_size
    return min(int(value), page_size)


def _timestamp(value: str) -> datetime:
    """A TIMESTAMP parameter's value, as the client sends it ("2026-09-01 00:00:00+00:00" or
    ISO 8601)."""
    parsed = datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_KEY_CACHE: list[Any] = []


def _new_account(email: str, project: str, table: str) -> _Account:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return _Account(
        email=email,
        key_id=uuid.uuid4().hex + uuid.uuid4().hex[:8],
        private_pem=pem,
        public_key=key.public_key(),
        job_user_projects={project},
        readable_tables={table},
    )


def other_private_key() -> str:
    """A valid PEM private key that no fake account has (a wrong key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def at(day: date, hour: int = 0) -> datetime:
    """The usage_start_time of an export row: ``hour`` o'clock UTC on ``day``."""
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


class _GoogleHandler(BaseHTTPRequestHandler):
    fake: ClassVar[FakeBigQuery]

    def _serve(self, method: str) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        status, answer = self.fake.handle(method, self.path, headers, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass
