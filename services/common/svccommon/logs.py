"""Structured JSON logs on stdout, one object per line, with the request context attached."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from svccommon import context


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.service = self.service
        record.request_id = getattr(record, "request_id", None) or ctx.request_id or None
        record.account_id = getattr(record, "account_id", None) or ctx.account_id or None
        return True


class _NoTracebackFormatter(JsonFormatter):
    """Tracebacks may carry secrets from local variables or messages: log the type only."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging API name)
        return ei[0].__name__ if ei and ei[0] else ""

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return ""


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        _NoTracebackFormatter(
            "{asctime}{levelname}{name}{message}{service}{request_id}{account_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "message": "msg"},
            timestamp=False,
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter (pymongo topology events, etc.) stays at WARNING.
    for noisy in ("pymongo", "urllib3", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
