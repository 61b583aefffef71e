"""The anti-enumeration and throttling mechanisms, proven on the auth domain itself against the
session database, with a real hasher that counts its bcrypt work and an injected clock
(docs/security.md). No timing assertions: bench/auth_enumeration.py measures the
latencies."""

from __future__ import annotations

import dataclasses
import threading
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
from auth.store.throttle import Taken
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
        limiter=LoginLimiter(stores.throttles, LimitConfig()),  # the defaults: 10 free, then 2 s, 4 s ...
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
    accounts.signup(core, email, PASSWORD, "Mechanism")
    return core.stores.accounts.by_email_key(email)


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
    """Checklist 3: 10 failures from one network are answered; the 11th waits, with no bcrypt call."""
    account = _account(core)
    for _ in range(10):
        _fail(core, account["email"])
    before = core.hasher.bcrypt_checks
    with pytest.raises(Throttled) as caught:
        sessions.login(core, account["email"], "wrong password!")
    assert caught.value.retry_after == 2
    with pytest.raises(Throttled):  # even the right password is not checked now
        sessions.login(core, account["email"], PASSWORD)
    assert core.hasher.bcrypt_checks == before


def test_waits_double_with_each_failure_and_a_success_starts_over(core: Core) -> None:
    account = _account(core)
    for _ in range(10):
        _fail(core, account["email"])
    waits = []
    for _ in range(4):
        with pytest.raises(Throttled) as caught:
            sessions.login(core, account["email"], PASSWORD)
        waits.append(caught.value.retry_after)
        core.clock.t += caught.value.retry_after
        _fail(core, account["email"])  # one try per wait
    assert waits == [2, 4, 8, 16]
    core.clock.t += 32
    assert sessions.login(core, account["email"], PASSWORD).tokens is not None
    for _ in range(10):  # a fresh allowance
        _fail(core, account["email"])


def test_a_new_window_starts_with_a_fresh_allowance(core: Core) -> None:
    account = _account(core)
    for _ in range(10):
        _fail(core, account["email"])
    core.clock.t += core.limiter.cfg.window_s
    assert sessions.login(core, account["email"], PASSWORD).tokens is not None


def test_unknown_emails_are_throttled_like_real_ones(core: Core) -> None:
    email = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(10):
        _fail(core, email)
    with pytest.raises(Throttled):
        sessions.login(core, email, "anything at all")


def test_failures_from_another_network_do_not_count(core: Core) -> None:
    account = _account(core)
    with context.bound(context.RequestContext(client_ip="198.51.100.20")):
        for _ in range(10):
            _fail(core, account["email"])
        with pytest.raises(Throttled):
            sessions.login(core, account["email"], PASSWORD)
    with context.bound(context.RequestContext(client_ip="198.51.100.21")):
        assert sessions.login(core, account["email"], PASSWORD).tokens is not None


def test_an_ipv6_client_is_counted_by_its_64(core: Core) -> None:
    account = _account(core)
    for i in range(10):  # ten addresses of one /64: one network
        with context.bound(context.RequestContext(client_ip=f"2001:db8:5:6::{i + 1:x}")):
            _fail(core, account["email"])
    with context.bound(context.RequestContext(client_ip="2001:db8:5:6:ffff::1")):
        with pytest.raises(Throttled):
            sessions.login(core, account["email"], PASSWORD)
    with context.bound(context.RequestContext(client_ip="2001:db8:5:7::1")):  # the next /64
        assert sessions.login(core, account["email"], PASSWORD).tokens is not None


def test_one_ip_trying_many_accounts_is_throttled(core: Core) -> None:
    """Checklist 4 (mechanism; test_auth_sessions runs 100 accounts through the gateway)."""
    core.limiter.cfg = dataclasses.replace(core.limiter.cfg, network_free_failures=5)
    with context.bound(context.RequestContext(client_ip="198.51.100.7")):
        for i in range(5):
            _fail(core, f"victim-{i}-{uuid.uuid4().hex[:6]}@example.com")
        before = core.hasher.bcrypt_checks
        with pytest.raises(Throttled):
            sessions.login(core, f"victim-next-{uuid.uuid4().hex[:6]}@example.com", "password guess")
        assert core.hasher.bcrypt_checks == before
    with context.bound(context.RequestContext(client_ip="198.51.100.8")):  # another IP is unaffected
        _fail(core, f"other-{uuid.uuid4().hex[:6]}@example.com")


def _network_count(core: Core, ip: str) -> int:
    window = core.limiter.cfg.network_window_s
    start = int(core.clock.t) // window * window
    doc = core.stores.throttles.col.find_one({"_id": f"login-net:{ip}@{start}"})
    return doc["n"] if doc else 0


def test_success_clears_the_account_count_but_not_the_ip_count(core: Core) -> None:
    account = _account(core)
    with context.bound(context.RequestContext(client_ip="198.51.100.9")):
        for _ in range(9):
            _fail(core, account["email"])
        assert sessions.login(core, account["email"], PASSWORD).tokens is not None
        for _ in range(10):  # a fresh allowance of 10 for the account on this network
            _fail(core, account["email"])
    assert _network_count(core, "198.51.100.9") == 19  # the success itself is not counted


def test_concurrent_reservations_admit_exactly_the_free_number(core: Core) -> None:
    """The reservation is one atomic check-and-increment: 24 racing attempts, 10 admitted (the
    tenth through the gate, which it then holds), whatever the interleaving."""
    threads, admitted = 24, []
    start = threading.Barrier(threads)
    lock = threading.Lock()
    now = core.utcnow()

    def attempt() -> None:
        start.wait()
        taken = core.stores.throttles.take(f"race-{key}", 10, now, 3600)
        with lock:
            admitted.append(isinstance(taken, Taken))

    key = uuid.uuid4().hex
    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert len(admitted) == threads and admitted.count(True) == 10


def test_signup_does_the_same_foreground_work_for_new_and_taken_addresses(core, commands) -> None:
    """ASVS 6.3.8 (mechanism): the same database commands, the same bcrypt work and one queued
    email job either way, so neither the answer nor its timing says whether the address is taken."""
    taken = _account(core)
    seen = []
    for email in (f"new-{uuid.uuid4().hex[:8]}@example.com", taken["email"]):
        commands.commands.clear()
        core.mail.held.clear()
        core.hasher.calls.clear()
        accounts.signup(core, email, "another strong passphrase", "Someone")
        seen.append((dict(commands.commands), dict(core.hasher.calls), len(core.mail.held)))
    assert seen[0] == seen[1]
    assert seen[0][1] == {"hash": 1} and seen[0][2] == 1


def test_reset_request_does_the_same_foreground_work_for_known_and_unknown_emails(core, commands) -> None:
    """Checklist 6 (mechanism): the RPC only validates, counts the request against its network's
    quota and queues; lookup, token and email happen in the background, so neither the answer nor
    its timing depends on the account existing."""
    account = _account(core)
    foreground = []
    for email in (account["email"], "nobody-" + account["email"]):
        commands.commands.clear()
        core.mail.held.clear()
        with context.bound(context.RequestContext(client_ip="198.51.100.30")):
            recovery.request_reset(core, email)
        foreground.append((sum(commands.commands.values()), len(core.mail.held)))
    # One command (the per-network quota, which does not depend on the address), one queued job.
    assert foreground == [(1, 1), (1, 1)]

    recovery.request_reset(core, account["email"])
    core.mail.run_held()
    tokens = list(core.stores.tokens.col.find({"account_id": account["_id"], "kind": "password_reset"}))
    assert len(tokens) == 1
