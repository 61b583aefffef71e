"""AWS Bedrock spend through Cost Explorer ``GetCostAndUsage`` (JSON 1.1, signed with SigV4).

The credential is an IAM access key (access key ID + secret access key, stored by keyvault as
one JSON secret: svccommon.platforms) allowed only ``ce:GetCostAndUsage``. botocore signs and
serializes the call; retries are ours (botocore's are turned off) so they follow the same
settings as every other connector.

One request per sync window (``window_days`` covers a whole year's backfill), plus one per
further page (``NextPageToken``): Cost Explorer charges every request, so the connector never
splits a window by day or asks anything else. Parameters:

- ``TimePeriod`` = the window (``End`` exclusive), ``Granularity`` = ``DAILY``;
- ``Metrics`` = ``UnblendedCost`` (the money, kept as an exact Decimal string) and
  ``UsageQuantity`` (the token counts of token usage types);
- ``GroupBy`` = the ``model`` product attribute (``model$Claude Sonnet 5``; ``model$`` where the
  cost has none) and the ``USAGE_TYPE`` dimension. Grouping by a product attribute limits the
  results to the services that have it, which the API reference says is Amazon Bedrock alone.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from svccommon import platforms, units

from ..records import UNATTRIBUTED_MODEL, LineItem, UsageRecord, to_decimal
from .base import MAX_PAGES, Connector, DayBuckets, UnexpectedShape
from .errors import InvalidCredential, ProviderRejected, ProviderUnavailable

log = logging.getLogger(__name__)

REGION = "us-east-1"  # Cost Explorer's one endpoint: https://ce.us-east-1.amazonaws.com
METRICS = ("UnblendedCost", "UsageQuantity")
GROUP_BY = ({"Type": "PRODUCT_ATTRIBUTE", "Key": "model"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"})

# Error codes (botocore ClientError "Code") that mean the access key is wrong or not allowed.
AUTH_ERRORS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "AccessDeniedException",
        "ExpiredTokenException",
    }
)
# Error codes worth another attempt after a pause.
RETRY_ERRORS = frozenset(
    {
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
    }
)

# Token usage types end like "USE1-Claude3Haiku-input-tokens"; the longest suffix wins.
_TOKEN_SUFFIXES = (
    ("cache-read-input-token-count", units.CACHE_READ_TOKENS),
    ("cache-write-input-token-count", units.CACHE_WRITE_TOKENS),
    ("cache-read-input-tokens", units.CACHE_READ_TOKENS),
    ("cache-write-input-tokens", units.CACHE_WRITE_TOKENS),
    ("input-tokens", units.INPUT_UNCACHED_TOKENS),
    ("output-tokens", units.OUTPUT_TOKENS),
)
_REGION_PREFIX = re.compile(r"^[A-Z]{2,4}\d?-")  # USE1-, EUC1-, APN1-, ...


def token_unit(usage_type: str) -> str | None:
    lowered = usage_type.lower()
    for suffix, unit in _TOKEN_SUFFIXES:
        if lowered.endswith(suffix):
            return unit
    return None


def model_from_usage_type(usage_type: str) -> str | None:
    """``USE1-Claude3Haiku-input-tokens`` -> ``Claude3Haiku``; None when it names no model."""
    lowered = usage_type.lower()
    for suffix, _ in _TOKEN_SUFFIXES:
        if lowered.endswith(suffix):
            name = _REGION_PREFIX.sub("", usage_type[: -len(suffix)]).strip("-")
            return name or None
    return None


class AwsBedrockConnector(Connector):
    platform = "aws_bedrock"
    default_base_url = "https://ce.us-east-1.amazonaws.com"
    invalid_key_message = (
        "AWS refused this access key. Use the access key ID and secret access key of an IAM user "
        "allowed ce:GetCostAndUsage (the policy is in the AICosts provider docs), and make sure Cost "
        "Explorer is enabled in the account."
    )
    window_days = 366  # one request (plus pages) for a whole year's backfill
    provisional_days = 3  # Cost Explorer marks recent days "Estimated" and revises them

    def __init__(self, *, client: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client = client  # tests may pass a botocore client

    def _headers(self, api_key: str) -> dict[str, str]:  # signing is botocore's (SigV4)
        return {}

    def _ce_client(self, api_key: str) -> Any:
        if self._client is not None:
            return self._client
        import botocore.session
        from botocore.config import Config

        try:
            fields = platforms.parse_fields(self.platform, api_key)
        except platforms.InvalidKey as exc:
            raise InvalidCredential(exc.message) from None
        session = botocore.session.Session()
        timeout = self.http.timeout
        return session.create_client(
            "ce",
            region_name=REGION,
            endpoint_url=self.base_url,
            aws_access_key_id=fields["access_key_id"],
            aws_secret_access_key=fields["secret_access_key"],
            config=Config(
                retries={"total_max_attempts": 1},  # ours, below
                connect_timeout=timeout[0],
                read_timeout=timeout[1],
                user_agent_extra="AICosts-usage-connector",
            ),
        )

    def _fetch_window(self, api_key: str, buckets: DayBuckets) -> None:
        client = self._ce_client(api_key)
        request: dict[str, Any] = {
            "TimePeriod": {
                "Start": buckets.first.isoformat(),
                "End": (buckets.last + timedelta(days=1)).isoformat(),  # exclusive
            },
            "Granularity": "DAILY",
            "Metrics": list(METRICS),
            "GroupBy": [dict(g) for g in GROUP_BY],
        }
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = self._call(client, request)
            with buckets.guard(None, "GetCostAndUsage"):
                results = body["ResultsByTime"]
                if not isinstance(results, list):
                    raise UnexpectedShape(None, "'ResultsByTime' is not a list")
                for result in results:
                    self._add_result(buckets, result)
            token = body.get("NextPageToken")
            if not token:
                return
            if not isinstance(token, str) or token in seen:
                raise UnexpectedShape(None, "GetCostAndUsage: NextPageToken repeated or invalid")
            seen.add(token)
            request["NextPageToken"] = token
        raise UnexpectedShape(None, f"GetCostAndUsage: more than {MAX_PAGES} pages")

    def _call(self, client: Any, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        http = self.http
        problem = ""
        for attempt in range(1, http.max_attempts + 1):
            try:
                return client.get_cost_and_usage(**request)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                message = str(error.get("Message", ""))[:300]
                if code in AUTH_ERRORS:
                    raise InvalidCredential(
                        self.invalid_key_message, status=status, provider_detail=f"{code}: {message}"
                    ) from None
                if code not in RETRY_ERRORS and not (isinstance(status, int) and status >= 500):
                    raise ProviderRejected(status or 400, f"{code}: {message}") from None
                problem = f"{code or 'HTTP ' + str(status)}"
            except BotoCoreError as exc:  # connection refused, timeouts, unreadable answers
                problem = f"network error ({type(exc).__name__})"
            if not http.wait_before_retry(attempt, "GetCostAndUsage", problem):
                break
        raise ProviderUnavailable(f"{problem} after {http.max_attempts} attempts (GetCostAndUsage)")

    def _add_result(self, buckets: DayBuckets, result: dict[str, Any]) -> None:
        day = date.fromisoformat(result["TimePeriod"]["Start"][:10])
        with buckets.guard(day, "GetCostAndUsage"):
            groups = result.get("Groups") or []
            if not isinstance(groups, list):
                raise UnexpectedShape(day, "'Groups' is not a list")
            for group in groups:
                record = self._record(day, group)
                if record is not None:
                    buckets.add(record)

    def _record(self, day: date, group: dict[str, Any]) -> UsageRecord | None:
        keys = group["Keys"]
        if not isinstance(keys, list) or len(keys) != 2:
            raise UnexpectedShape(day, "a group without its two keys (model, usage type)")
        model_key, usage_type = str(keys[0]), str(keys[1])
        model = model_key.split("$", 1)[1] if model_key.startswith("model$") else model_key
        metrics = group["Metrics"]
        cost_metric = metrics["UnblendedCost"]
        cost = to_decimal(cost_metric["Amount"])  # a decimal string: exact
        currency = str(cost_metric.get("Unit") or "USD")
        if currency != "USD":
            raise UnexpectedShape(day, f"cost in {currency}, not USD")
        quantity: Decimal | None = None
        usage = metrics.get("UsageQuantity")
        if usage is not None and usage.get("Amount") is not None:
            quantity = to_decimal(usage["Amount"])
        unit = token_unit(usage_type)
        counts: dict[str, int] = {}
        if unit is not None and quantity is not None and quantity == quantity.to_integral_value():
            counts[unit] = int(quantity)
        if not model:
            model = model_from_usage_type(usage_type) or UNATTRIBUTED_MODEL
        if cost == 0 and not counts:
            return None
        item = LineItem(usage_type, quantity, unit or "usage", cost)
        return UsageRecord(
            self.platform,
            day,
            model,
            "api",
            cost_usd=cost,
            units=counts,
            line_items=(item,),
            amount_original=cost,
        )
