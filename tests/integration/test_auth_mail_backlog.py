"""The outgoing mail queue is bounded. With the mail provider stalled, a second auth process (a
queue of 3, sending through SendGrid's SDK to a fake that holds every request) and its own gateway
answer requests whose purpose is an email with a 503 problem and Retry-After once 3 emails wait,
whatever the address; notices about an action already done are dropped with an ERROR log line and
the action succeeds; once the provider answers again, everything works as before."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from devstack.__main__ import stack_env
from support import processes
from support.accounts import (
    auth_db,
    new_account,
    random_loopback_ip,
    session_from,
    strong_password,
    unique_email,
)
from support.ports import free_ports
from testkit.fakes.sendgrid import FakeSendGrid
from testkit.waiting import wait_until

QUEUE_MAX = 3
MAIL_WORKERS = 2  # auth's MailQueue default


@dataclass
class SlowMailStack:
    base_url: str
    sendgrid: FakeSendGrid
    log_dir: Path

    def logs(self) -> str:
        return processes.logs(self.log_dir)


@pytest.fixture(scope="module")
def slow_mail(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlowMailStack]:
    log_dir = tmp_path_factory.mktemp("slow-mail")
    with FakeSendGrid() as sendgrid:
        auth_port, gateway_port = free_ports(2)
        env = stack_env(dict(stack.env))  # the environment `make run` gives every process
        env.update(sendgrid.stack_env(log_dir))
        env.update(
            {
                "AUTH_PORT": str(auth_port),
                "AUTH_ADDR": f"127.0.0.1:{auth_port}",
                "AUTH_MAIL_QUEUE_MAX": str(QUEUE_MAX),
                "GATEWAY_PORT": str(gateway_port),
                "GATEWAY_WORKERS": "1",
            }
        )
        started = [
            processes.start("auth", [sys.executable, "-m", "auth"], env, log_dir),
            processes.start_gateway(env, log_dir),
        ]
        slow = SlowMailStack(f"http://127.0.0.1:{gateway_port}", sendgrid, log_dir)
        try:
            processes.wait_ready(slow.base_url, started, log_dir)
            yield slow
        finally:
            sendgrid.release()
            processes.stop(started, [signal.SIGTERM, signal.SIGQUIT])  # SIGQUIT: gunicorn's quick exit


def _signup(slow: SlowMailStack, email: str) -> requests.Response:
    with session_from(random_loopback_ip()) as client:
        body = {"email": email, "password": strong_password(), "name": "Queued"}
        return client.post(f"{slow.base_url}/v1/auth/signup", json=body, timeout=30)


def _wait_for(condition, timeout_s: float = 10) -> None:  # type: ignore[no-untyped-def]
    wait_until(condition, timeout_s, 0.05)


def test_a_full_mail_queue_answers_503_and_drops_only_notices(slow_mail: SlowMailStack, stack, mongo_uri):
    owner = new_account(stack)  # made through the session stack (its mail goes to the outbox)
    fake = slow_mail.sendgrid
    fake.hold()
    try:
        # Two emails stall in the workers, one waits behind them: the queue of 3 is full.
        for _ in range(QUEUE_MAX):
            assert _signup(slow_mail, unique_email("queued")).status_code < 300
        _wait_for(lambda: fake.waiting == MAIL_WORKERS)

        refused_email = unique_email("refused")
        refused = _signup(slow_mail, refused_email)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/mail-queue-full")
        assert int(refused.headers["Retry-After"]) > 0
        with auth_db(mongo_uri) as db:
            assert db.accounts.find_one({"email_key": refused_email}) is None  # nothing half-done

        url = f"{slow_mail.base_url}/v1/auth/password-reset"
        resets = [requests.post(url, json={"email": e}, timeout=30) for e in (owner.email, unique_email("x"))]
        assert [r.status_code for r in resets] == [503, 503]  # the same for a known and an unknown address

        # A notice about a finished action is dropped, and the action itself succeeds.
        changed = requests.post(
            f"{slow_mail.base_url}/v1/me/password",
            json={"current_password": owner.password, "new_password": strong_password()},
            headers=owner.headers,
            timeout=30,
        )
        assert changed.status_code == 204, changed.text
        _wait_for(lambda: "email dropped: the mail queue is full" in slow_mail.logs())
    finally:
        fake.release()

    _wait_for(lambda: fake.waiting == 0 and len(fake.sent) >= QUEUE_MAX, timeout_s=20)
    assert _signup(slow_mail, unique_email("later")).status_code == 202
    _wait_for(lambda: len(fake.sent) >= QUEUE_MAX + 1, timeout_s=20)
    assert fake.subjects().count("Confirm your email address for AICosts") == QUEUE_MAX + 1
