"""One delivery attempt over its channel: email through auth (which alone holds the mail
provider's key), a signed webhook, or a Slack message, both through the outbound guard
(usage.outbound), which refuses addresses that could reach us. Never raises for a failed send:
the result says what happened, in words safe to show (no URL, no response body)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from usage import outbound, signing
from usage.alerts.destinationstore import DestinationStore
from usage.clients.auth_mail import AlertMailer, AlertMailError
from usage.clients.keyvault_sealing import DestinationSecrets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    ok: bool
    status_code: int | None
    error: str
    duration_ms: int
    retryable: bool = True


class Sender:
    def __init__(
        self,
        mailer: AlertMailer,
        secrets: DestinationSecrets,
        destinations: DestinationStore,
        policy: outbound.OutboundPolicy,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.mailer = mailer
        self.secrets = secrets
        self.destinations = destinations
        self.policy = policy
        self.clock = clock

    def send(self, delivery: dict[str, Any]) -> Result:
        started = time.monotonic()
        try:
            if delivery["channel"] == "email":
                return self._email(delivery, started)
            return self._http(delivery)
        except Exception as exc:  # a bug or an outage must not stop the other deliveries
            log.error(
                "alert delivery failed",
                extra={"channel": delivery["channel"], "error_type": type(exc).__name__},
            )
            return Result(False, None, "could not be sent; it will be tried again", _ms(started))

    def _email(self, delivery: dict[str, Any], started: float) -> Result:
        p = delivery["payload"]
        try:
            self.mailer.send(
                delivery["account_id"],
                to_owner=p["to_owner"],
                to=p["to"],
                subject=p["subject"],
                text=p["text"],
                key=delivery["_id"],
            )
        except AlertMailError as exc:
            return Result(False, None, str(exc), _ms(started), exc.retryable)
        return Result(True, None, "", _ms(started))

    def _http(self, delivery: dict[str, Any]) -> Result:
        account_id, destination_id = delivery["account_id"], delivery["destination_id"]
        destination = self.destinations.get(account_id, destination_id)
        if destination is None:
            return Result(False, None, "the destination was deleted", 0, retryable=False)
        secret, stale = self.secrets.open(account_id, destination_id, destination["sealed"])
        body = delivery["payload"]["body"].encode()
        headers = {"Content-Type": "application/json"}
        slack = destination["kind"] == "slack"
        if not slack:
            now = int(self.clock().timestamp())
            headers[signing.SIGNATURE_HEADER] = signing.signature_header(secret["signing_secret"], body, now)
            headers["AICosts-Delivery"] = delivery["_id"]
        sent = outbound.post_json(secret["url"], body, headers, self.policy, slack=slack)
        if stale:
            self._reseal(account_id, destination_id, secret)
        # Any failed answer is retried for 24 h (a receiver may be mid-deploy); a refused address is
        # not: it does not become acceptable by waiting.
        refused = sent.error.startswith("refused")
        return Result(sent.ok, sent.status_code, sent.error, sent.duration_ms, not refused)

    def _reseal(self, account_id: str, destination_id: str, secret: dict[str, str]) -> None:
        """Sealed under an older key version: re-seal under the current one, after sending, and at
        best effort (a key store that cannot seal now must not stop the delivery)."""
        try:
            sealed = self.secrets.seal(account_id, destination_id, secret)
            self.destinations.set_sealed(account_id, destination_id, sealed)
        except Exception as exc:
            log.warning("destination secret not re-sealed", extra={"error_type": type(exc).__name__})


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
