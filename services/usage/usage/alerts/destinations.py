"""Alert destinations: what a user may give (a webhook URL or a Slack incoming-webhook URL, with a
name), checked by the outbound guard before anything is stored, and what may be shown afterwards."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from usage import outbound
from usage.alerts.budgets import field_error

KINDS = ("webhook", "slack")
MAX_PER_ACCOUNT = 20
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_destination(kind: str, name: str, url: str, policy: outbound.OutboundPolicy) -> tuple[str, str]:
    """(name, target to show); raises a field error for a kind, name or URL we refuse."""
    if kind not in KINDS:
        raise field_error("kind", "must be webhook or slack")
    name = (name or "").strip()
    if not name or len(name) > 100 or _NAME_BAD.search(name):
        raise field_error("name", "is required: at most 100 characters, without control characters")
    try:
        outbound.check_url(url, policy, slack=kind == "slack")
    except outbound.RefusedDestination as exc:
        raise field_error("url", f"is refused: {exc}") from None
    return name, shown_target(url)


def shown_target(url: str) -> str:
    """Scheme and host only: a Slack URL's path is its secret, and webhook paths often carry tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…"
