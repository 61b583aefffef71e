"""Sending email: SendGrid's SDK in production, .eml files in an outbox folder locally and in tests.

Either way only the subject and recipient are logged, never the body (it carries one-time links).
Messages go out on a background thread so a request never waits for (or reveals, by its timing)
the mail provider; only alert emails, which reveal nothing, are sent on the request's thread."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from auth.errors import MailQueueFull

log = logging.getLogger("auth.mail")
SENDGRID_TIMEOUT_S = 10


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


class OutboxMailer:
    """Writes each message as an RFC 5322 .eml file (stdlib `email`), atomically."""

    def __init__(self, outbox: Path, sender: str) -> None:
        self.outbox = outbox
        self.sender = sender

    def send(self, message: Message) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        mail["Message-ID"] = make_msgid(domain="aicosts.local")
        # 8bit keeps links whole and readable when a person opens the .eml file.
        mail.set_content(message.text, cte="8bit")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = self.outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = final.with_suffix(".tmp")
        # The outbox holds live one-time links: readable by this user only.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(mail.as_bytes())
        partial.replace(final)  # readers never see half a message
        log.info("email written to outbox", extra={"to": message.to, "subject": message.subject})


class SendGridMailer:
    """The real SendGrid v3 Mail Send call through the official SDK (`host` is for tests only)."""

    def __init__(self, api_key: str, sender: str, host: str | None = None) -> None:
        from sendgrid import SendGridAPIClient

        self.client = SendGridAPIClient(api_key=api_key, **({"host": host} if host else {}))
        self.client.client.timeout = SENDGRID_TIMEOUT_S  # the SDK's default is to wait forever
        self.sender = sender

    def send(self, message: Message) -> None:
        from sendgrid.helpers.mail import Mail

        mail = Mail(
            from_email=self.sender,
            to_emails=message.to,
            subject=message.subject,
            plain_text_content=message.text,
        )
        response = self.client.send(mail)
        log.info(
            "email sent",
            extra={"to": message.to, "subject": message.subject, "status": response.status_code},
        )


class MailQueue:
    """Sends on worker threads, carrying the request context (request id) into the log lines.

    Bounded: at most `max_pending` jobs wait or run at once, so a flood of requests cannot grow
    memory without limit while the provider is slow. Past the bound, `submit` and `send` raise
    MailQueueFull: the request whose purpose is the email (a verification or reset link) fails
    with a 503 and Retry-After and can simply be sent again. `notify` is for notices about an
    action that has already happened (and is in the audit log): failing that action now would be
    worse than a missing notice, so the notice is dropped with an ERROR log line instead."""

    def __init__(self, mailer: Mailer, workers: int = 2, max_pending: int = 1000) -> None:
        self.mailer = mailer
        self.max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="auth-mail")

    def _send(self, message: Message) -> None:
        try:
            self.mailer.send(message)
        except Exception as exc:
            # The type only: provider errors can echo the message body (with its link) back.
            extra = {"to": message.to, "subject": message.subject, "error_type": type(exc).__name__}
            log.error("email not sent", extra=extra)

    def send_now(self, message: Message) -> None:
        """Send on this thread and raise if the provider refuses: for a caller that must know
        whether the message went (alert emails). Logged like the queued sends."""
        try:
            self.mailer.send(message)
        except Exception as exc:
            extra = {"to": message.to, "subject": message.subject, "error_type": type(exc).__name__}
            log.error("email not sent", extra=extra)
            raise

    def require_room(self) -> None:
        """Raise MailQueueFull now, before a request does work that ends in an email."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise MailQueueFull()

    def send(self, message: Message) -> Future[None]:
        return self.submit(self._send, message)

    def deliver(self, message: Message) -> None:
        """Send now, on this thread: for jobs that already run on the queue's own workers."""
        self._send(message)

    def notify(self, message: Message) -> Future[None] | None:
        try:
            return self.send(message)
        except MailQueueFull:
            extra = {"to": message.to, "subject": message.subject}
            log.error("email dropped: the mail queue is full", extra=extra)
            return None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run `fn(*args)` in the background with a copy of the caller's context."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise MailQueueFull()
            self._pending += 1
        ctx = contextvars.copy_context()
        try:
            future = self._pool.submit(ctx.run, fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future | None) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=True)
