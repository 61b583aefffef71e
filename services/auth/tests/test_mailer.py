"""Email: .eml files in the outbox locally, SendGrid's real SDK in production (against a fake
SendGrid server here); only the subject and recipient are ever logged."""

from __future__ import annotations

import email
import email.policy
import logging
import stat

import pytest
from auth import emails
from auth.mailer import MailQueue, Message, OutboxMailer, SendGridMailer

SECRET_LINK = "http://127.0.0.1:8080/verify-email?token=CANARY-token-value-123"


def _message() -> Message:
    return emails.verification("ada@example.com", "Ada", SECRET_LINK, 24)


def test_outbox_message_is_a_standard_eml_file_readable_by_its_owner_only(tmp_path) -> None:
    OutboxMailer(tmp_path / "outbox", "AICosts <no-reply@example.com>").send(_message())
    files = list((tmp_path / "outbox").iterdir())
    assert [f.suffix for f in files] == [".eml"]  # no half-written temp file is left
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "ada@example.com"
    assert parsed["From"] == "AICosts <no-reply@example.com>"
    assert parsed["Subject"] == emails.VERIFY_SUBJECT
    assert parsed["Message-ID"] and parsed["Date"]
    assert SECRET_LINK in parsed.get_body(preferencelist=("plain",)).get_content()


def test_outbox_logs_subject_and_recipient_but_never_the_body(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="auth.mail")
    OutboxMailer(tmp_path, "no-reply@example.com").send(_message())
    (record,) = caplog.records
    assert record.to == "ada@example.com" and record.subject == emails.VERIFY_SUBJECT
    assert all("CANARY" not in str(value) for value in vars(record).values())


def test_sendgrid_mailer_sends_through_the_sdk(fake_sendgrid, caplog) -> None:
    caplog.set_level(logging.INFO, logger="auth.mail")
    mailer = SendGridMailer(fake_sendgrid.api_key, "AICosts <no-reply@example.com>", host=fake_sendgrid.url)
    mailer.send(_message())
    (sent,) = fake_sendgrid.requests
    assert sent["path"] == "/v3/mail/send"
    assert sent["headers"]["Authorization"] == f"Bearer {fake_sendgrid.api_key}"
    body = sent["json"]
    assert body["from"] == {"email": "no-reply@example.com", "name": "AICosts"}
    assert body["personalizations"][0]["to"] == [{"email": "ada@example.com"}]
    assert body["subject"] == emails.VERIFY_SUBJECT
    assert body["content"] == [{"type": "text/plain", "value": _message().text}]
    assert [r.status for r in caplog.records] == [202]
    assert all("CANARY" not in str(v) for r in caplog.records for v in vars(r).values())


def test_sendgrid_failure_is_logged_by_type_without_the_body(fake_sendgrid, caplog) -> None:
    queue = MailQueue(SendGridMailer("SG.wrong-key", "no-reply@example.com", host=fake_sendgrid.url))
    try:
        queue.send(_message()).result(timeout=10)  # logged, never raised into the caller
    finally:
        queue.close()
    (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.getMessage() == "email not sent"
    assert failure.error_type == "UnauthorizedError"
    assert all("CANARY" not in str(v) for r in caplog.records for v in vars(r).values())


def test_queue_runs_jobs_in_the_background_with_the_callers_context(tmp_path) -> None:
    from svccommon import context

    seen = []
    queue = MailQueue(OutboxMailer(tmp_path, "no-reply@example.com"))
    try:
        with context.bound(context.RequestContext(request_id="req-42", client_ip="203.0.113.9")):
            future = queue.submit(lambda: seen.append(context.current()))
        future.result(timeout=10)
    finally:
        queue.close()
    assert seen[0].request_id == "req-42" and seen[0].client_ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/verify-email", "http://h:1/verify-email?token=a%2Bb%2Fc"),
        ("/reset-password", "http://h:1/reset-password?token=a%2Bb%2Fc"),
    ],
)
def test_links_quote_the_token(path: str, expected: str) -> None:
    assert emails.link("http://h:1", path, "a+b/c") == expected


def test_reset_email_states_the_60_minute_lifetime() -> None:
    message = emails.password_reset("ada@example.com", "http://x/reset-password?token=t", 60)
    assert message.subject == emails.RESET_SUBJECT and "expires in 60 minutes" in message.text
