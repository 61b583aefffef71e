"""Reading the stack's email outbox (the .eml files auth writes locally), as a person would."""

from __future__ import annotations

import email
import email.policy
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Mail:
    path: Path
    to: str
    subject: str
    text: str

    def links(self) -> list[str]:
        return _URL.findall(self.text)

    def token(self) -> str:
        """The `token` query parameter of the first link that has one."""
        for link in self.links():
            values = parse_qs(urlparse(link).query).get("token")
            if values:
                return values[0]
        raise AssertionError(f"no token link in {self.subject!r}")


def outbox_dir(stack) -> Path:
    return stack.var_dir / "outbox"


def read(path: Path) -> Mail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return Mail(path=path, to=str(message["To"]), subject=str(message["Subject"]), text=text)


def messages(stack, to: str | None = None) -> list[Mail]:
    """Every message in the outbox (oldest first), optionally only those to `to`."""
    folder = outbox_dir(stack)
    if not folder.is_dir():
        return []
    mails = [read(p) for p in sorted(folder.glob("*.eml"))]
    return [m for m in mails if to is None or m.to.lower() == to.lower()]


def wait_for(stack, to: str, subject_contains: str, *, count: int = 1, timeout_s: float = 10) -> list[Mail]:
    """At least `count` messages to `to` whose subject contains the text (mail is sent in the
    background, so it may land a moment after the HTTP answer)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [m for m in messages(stack, to) if subject_contains.lower() in m.subject.lower()]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no email {subject_contains!r} to {to} within {timeout_s}s (found {len(found)})"
            )
        time.sleep(0.05)


def latest(stack, to: str, subject_contains: str, *, count: int = 1) -> Mail:
    return wait_for(stack, to, subject_contains, count=count)[-1]
