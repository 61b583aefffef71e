"""Alert destinations: what a user may give (a webhook URL or a Slack incoming-webhook URL, with a
name), checked by the outbound guard before anything is stored, and what may be shown afterwards."""

from __future__ import annotations

from urllib.parse import urlsplit

from usage import outbound
from usage.alerts.budgets import check_name, field_error

KINDS = ("webhook", "slack")
MAX_PER_ACCOUNT = 20


def check_destination(kind: str, name: str, url: str, policy: outbound.OutboundPolicy) -> tuple[str, str]:
    """(name, target to show); raises a field error for a kind, name or URL we refuse."""
    if kind not in KINDS:
        raise field_error("kind", "must be webhook or slack")
    name = check_name(name)
    try:
        outbound.check_url(url, policy, slack=kind == "slack")
    except outbound.RefusedDestination as exc:
        raise field_error("url", f"is refused: {exc}") from None
    return name, shown_target(url)


def shown_target(url: str) -> str:
    """Scheme and host only: a Slack URL's path is its secret, and webhook paths often carry tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…"
