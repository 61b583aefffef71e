"""Floods of the Stripe webhook endpoint, which anyone can POST to. Failed deliveries (bad,
stale or missing signature, not an event) are counted per client network (an IPv4 /24, an IPv6
/64: the addresses one client easily has; Stripe delivers from its own ranges, so one client's
failures never hold up Stripe's deliveries) in fixed windows:
- each kind of failure from one network within one window is one audit event with a count;
- past `max_failures` failures in a window the network is refused (RESOURCE_EXHAUSTED with
  retry-after: the end of the window) before any signature work, and those refusals are
  counted in one audit event the same way."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math

from auth.core import Core, client_ip, to_utc
from auth.errors import Throttled
from auth.store.webhook_failures import WebhookFailureCounter

THROTTLED = (
    "too many failed webhook deliveries from this network; wait for the time in Retry-After "
    "(Stripe's own deliveries are not affected)"
)
RATE_LIMITED = "rate_limited"


def client_network(ip: str) -> str:
    """The network a client address stands for: /24 for IPv4, /64 for IPv6."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class WebhookGuard:
    def __init__(self, core: Core, counter: WebhookFailureCounter, max_failures: int, window_s: int) -> None:
        self.core = core
        self.counter = counter
        self.max_failures = max_failures
        self.window_s = window_s

    def _window(self) -> tuple[dt.datetime, float]:
        """The current window's start, and the seconds left in it."""
        now = self.core.now()
        start = now // self.window_s * self.window_s
        return to_utc(start), start + self.window_s - now

    def admit(self) -> None:
        """Raise Throttled when the caller's network has used up its failures for this window."""
        network = client_network(client_ip())
        start, left = self._window()
        if self.counter.count(network, start) >= self.max_failures:
            self._audit(RATE_LIMITED, network)
            raise Throttled(THROTTLED, retry_after=max(1, math.ceil(left)))

    def failed(self, reason: str) -> None:
        network = client_network(client_ip())
        start, _ = self._window()
        self.counter.add(network, start, expires_at=start + dt.timedelta(seconds=self.window_s))
        self._audit(reason, network)

    def _audit(self, reason: str, network: str) -> None:
        # anonymous: an unverified delivery has not shown that it comes from Stripe
        self.core.audit.record_repeated(
            "billing.webhook",
            key=f"{reason}|{network}",
            window_s=self.window_s,
            outcome="denied",
            actor="anonymous",
            target_type="stripe_event",
            details={"reason": reason, "network": network},
        )
