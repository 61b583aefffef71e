"""The anti-enumeration and throttling mechanisms, proven on the auth domain itself against the
session database, with a real hasher that counts its bcrypt work (SECURITY.md checklist 3, 4, 5, 6).
No timing assertions: bench/auth_enumeration.py measures the latencies."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from auth import accounts, passwords, recovery, sessions
from auth.config import LimitConfig
from auth.core import Core
from auth.errors import Throttled
from auth.hashing import PasswordHasher
from auth.mailer import MailQueue, OutboxMailer
from auth.ratelimit import LoginLimiter
from auth.store import Stores
from pymongo import MongoClient, monitoring
from svccommon import context
from svccommon.access_tokens import generate_keypair, load_private_key
from svccommon.audit import AuditLog
from svccommon.errors import Unauthenticated

PASSWORD = "correct horse battery staple"
COST = 10  # the lowest cost the config allows: fast, and the mechanism is the same at 12


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class HeldQueue(MailQueue):
    """Keeps background jobs until the test runs them, to look at the foreground alone."""

    def __init__(self, mailer) -> None:
        super().__init__(mailer)
        self.held: list = []

    def submit(self, fn, *args):  # type: ignore[no-untyped-def]
        self.held.append((fn, args))

    def send(self, message):  # type: ignore[no-untyped-def]
        self.mailer.send(message)

    def run_held(self) -> None:
        while self.held:
            fn, args = self.held.pop(0)
            fn(*args)


class NoSecretBox:
    def encrypt(self, account_id: str, plaintext: str) -> bytes:
        raise AssertionError("not used by these tests")

    decrypt = encrypt  # type: ignore[assignment]


@pytest.fixture()
def commands() -> CommandCounter:
    return CommandCounter()


@pytest.fixture()
def core(mongo_uri: str, tmp_path, commands: CommandCounter) -> Iterator[Core]:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True, event_listeners=[commands])
    db = client[f"auth_mechanisms_{uuid.uuid4().hex[:8]}"]
    stores = Stores.of(db)
    stores.ensure_indexes()
    hasher = PasswordHasher(COST)
    hasher.warm_up()
    queue = HeldQueue(OutboxMailer(tmp_path / "outbox", "no-reply@example.com"))
    built = Core(
        stores=stores,
        hasher=hasher,
        limiter=LoginLimiter(stores.failures, LimitConfig(10, 3600, 30, 900)),
        mail=queue,
        box=NoSecretBox(),
        audit=AuditLog(db, "auth"),
        signing_key=load_private_key(generate_keypair()[0]),
        access_ttl_s=600,
        session_ttl_s=86400,
        base_url="http://127.0.0.1:8080",
        clock=Clock(),
    )
    try:
        yield built
    finally:
        client.drop_database(db.name)
        client.close()


def _account(core: Core) -> dict:
    email = f"mech-{uuid.uuid4().hex[:8]}@example.com"
    return accounts.signup(core, email, PASSWORD, "Mechanism")


WRONG = "wrong password!"


def _fail(core: Core, email: str) -> None:
    with pytest.raises(Unauthenticated):
        sessions.login(core, email, WRONG)


def test_unknown_email_costs_one_bcrypt_check_at_the_configured_cost(core: Core) -> None:
    """Checklist 5 (mechanism): both failure paths do exactly one bcrypt check at the configured cost."""
    account = _account(core)
    assert passwords.hash_cost(account["password_hash"]) == COST
    core.hasher.calls.clear()
    _fail(core, account["email"])
    assert core.hasher.calls == Counter({"verify": 1})
    core.hasher.calls.clear()
    _fail(core, "nobody-" + account["email"])
    assert core.hasher.calls == Counter({"dummy": 1})
    assert core.hasher.cost == COST


def test_unknown_email_and_wrong_password_raise_the_same_error(core: Core) -> None:
    account = _account(core)
    errors = []
    for email in (account["email"], "nobody-" + account["email"]):
        with pytest.raises(Unauthenticated) as caught:
            sessions.login(core, email, "wrong password!")
        errors.append((type(caught.value), caught.value.message, getattr(caught.value, "metadata", None)))
    assert errors[0] == errors[1]


def test_eleventh_failure_is_throttled_without_any_bcrypt_work(core: Core) -> None:
    """Checklist 3: 10 failures in an hour are answered; the 11th gets 429 and no bcrypt call."""
    account = _account(core)
    for _ in range(10):
        _fail(core, account["email"])
    before = core.hasher.bcrypt_checks
    with pytest.raises(Throttled) as caught:
        sessions.login(core, account["email"], "wrong password!")
    assert 0 < caught.value.retry_after <= 3600
    with pytest.raises(Throttled):  # even the right password is not checked now
        sessions.login(core, account["email"], PASSWORD)
    assert core.hasher.bcrypt_checks == before


def test_throttle_lifts_when_the_failures_leave_the_window(core: Core) -> None:
    account = _account(core)
    for _ in range(10):
        _fail(core, account["email"])
        core.clock.t += 60
    with pytest.raises(Throttled) as caught:
        sessions.login(core, account["email"], PASSWORD)
    assert caught.value.retry_after == 3600 - 600  # the oldest failure leaves the window then
    core.clock.t += caught.value.retry_after + 1
    assert sessions.login(core, account["email"], PASSWORD).tokens is not None


def test_unknown_emails_are_throttled_like_real_ones(core: Core) -> None:
    email = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(10):
        _fail(core, email)
    with pytest.raises(Throttled):
        sessions.login(core, email, "anything at all")


def test_one_ip_trying_many_accounts_is_throttled(core: Core) -> None:
    """Checklist 4 (mechanism; test_auth_login runs 100 accounts through the gateway)."""
    core.limiter.cfg = LimitConfig(10, 3600, ip_max_failures=5, ip_window_s=900)
    with context.bound(context.RequestContext(client_ip="198.51.100.7")):
        for i in range(5):
            _fail(core, f"victim-{i}-{uuid.uuid4().hex[:6]}@example.com")
        before = core.hasher.bcrypt_checks
        with pytest.raises(Throttled):
            sessions.login(core, f"victim-next-{uuid.uuid4().hex[:6]}@example.com", "password guess")
        assert core.hasher.bcrypt_checks == before
    with context.bound(context.RequestContext(client_ip="198.51.100.8")):  # another IP is unaffected
        _fail(core, f"other-{uuid.uuid4().hex[:6]}@example.com")


def test_success_clears_the_account_count_but_not_the_ip_count(core: Core) -> None:
    account = _account(core)
    with context.bound(context.RequestContext(client_ip="198.51.100.9")):
        for _ in range(9):
            _fail(core, account["email"])
        assert sessions.login(core, account["email"], PASSWORD).tokens is not None
        for _ in range(10):  # a fresh allowance of 10 for the account
            _fail(core, account["email"])
        assert (
            core.stores.failures.count_since("ip:198.51.100.9", core.utcnow().replace(year=2000), 100) == 19
        )


def test_reset_request_does_the_same_foreground_work_for_known_and_unknown_emails(core, commands) -> None:
    """Checklist 6 (mechanism): the RPC only validates and queues; lookup, token and email happen
    in the background, so neither the answer nor its timing depends on the account existing."""
    account = _account(core)
    foreground = []
    for email in (account["email"], "nobody-" + account["email"]):
        commands.commands.clear()
        core.mail.held.clear()
        recovery.request_reset(core, email)
        foreground.append((sum(commands.commands.values()), len(core.mail.held)))
    assert foreground == [(0, 1), (0, 1)]  # no database command at all, one queued job each

    recovery.request_reset(core, account["email"])
    core.mail.run_held()
    tokens = list(core.stores.tokens.col.find({"account_id": account["_id"], "kind": "password_reset"}))
    assert len(tokens) == 1
