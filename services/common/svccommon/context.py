"""Per-request facts (request id, actor, client IP) carried in context vars and gRPC metadata."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, fields, replace

_REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    account_id: str = ""
    client_ip: str = ""
    user_agent: str = ""

    def to_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (f"x-{f.name.replace('_', '-')}", v) for f in fields(self) if (v := getattr(self, f.name))
        )

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> RequestContext:
        values = {f.name: metadata.get(f"x-{f.name.replace('_', '-')}", "")[:512] for f in fields(cls)}
        if not valid_request_id(values["request_id"]):
            values["request_id"] = new_request_id()
        return cls(**values)


_current: ContextVar[RequestContext] = ContextVar("request_context", default=RequestContext())  # noqa: B039 (frozen)


def current() -> RequestContext:
    return _current.get()


@contextlib.contextmanager
def bound(ctx: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def attach(ctx: RequestContext) -> Token[RequestContext]:
    """For frameworks with begin/end hooks (Flask); pair with detach()."""
    return _current.set(ctx)


def detach(token: Token[RequestContext]) -> None:
    _current.reset(token)


def set_account(account_id: str) -> None:
    """Record the authenticated account for the rest of this request (logs, outgoing metadata)."""
    _current.set(replace(_current.get(), account_id=account_id))


def valid_request_id(value: str) -> bool:
    return bool(_REQUEST_ID_SHAPE.match(value))


def new_request_id() -> str:
    return uuid.uuid4().hex
