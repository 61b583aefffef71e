"""Sign-in throttling through the gateway: an attempt is reserved atomically before the password
check, so concurrent guesses cannot all reach bcrypt; the count is per (account, client network)
and per network, with a wait that grows with each failure, never a lock of the account as a whole.
Every test connects from loopback addresses of its own (the session stack's defaults: 10 failures
per account and network, then 2 s, 4 s, 8 s ...)."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from support.accounts import auth_db, new_account, random_loopback_ip, session_from

FREE_FAILURES = 10  # AUTH_LOGIN_FREE_FAILURES, default
WRONG = "Wrong-password-1"


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


def _login(stack, client: requests.Session, email: str, password: str) -> requests.Response:
    return client.post(
        f"{stack.base_url}/v1/auth/login", json={"email": email, "password": password}, timeout=60
    )


def _bcrypt_failures(db, account_id: str) -> int:
    """Failed sign-ins that reached the password check (each one is audited as bad_credentials)."""
    return db.audit_events.count_documents(
        {"action": "session.login", "account_id": account_id, "details.reason": "bad_credentials"}
    )


def test_concurrent_wrong_guesses_reach_the_password_check_at_most_the_free_number_of_times(stack, db):
    account = new_account(stack)
    ip = random_loopback_ip()
    guesses = 24  # more than the gateway's 16 request threads and auth's 16 RPC threads
    clients = [session_from(ip) for _ in range(guesses)]
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(guesses)

    def guess(client: requests.Session) -> None:
        start.wait()
        response = _login(stack, client, account.email, WRONG)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for c in clients:
        c.close()

    assert len(statuses) == guesses and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= FREE_FAILURES, sorted(statuses)
    assert statuses.count(429) >= guesses - FREE_FAILURES
    assert _bcrypt_failures(db, account.account_id) == statuses.count(401) <= FREE_FAILURES


def test_the_owner_on_another_network_signs_in_while_an_attacker_is_throttled(stack):
    account = new_account(stack)
    attacker, owner = session_from(random_loopback_ip()), session_from(random_loopback_ip())
    try:
        statuses = [
            _login(stack, attacker, account.email, WRONG).status_code for _ in range(FREE_FAILURES + 2)
        ]
        assert statuses[:FREE_FAILURES] == [401] * FREE_FAILURES and statuses[-1] == 429, statuses
        # Even the right password waits on the attacker's network ...
        assert _login(stack, attacker, account.email, account.password).status_code == 429
        # ... but not on the owner's.
        answer = _login(stack, owner, account.email, account.password)
        assert answer.status_code == 200, answer.text
        assert "access_token" in answer.json()
    finally:
        attacker.close()
        owner.close()


def test_retry_after_grows_with_every_further_failure(stack):
    account = new_account(stack)
    client = session_from(random_loopback_ip())
    waits = []
    try:
        for _ in range(FREE_FAILURES):
            assert _login(stack, client, account.email, WRONG).status_code == 401
        for _ in range(3):
            throttled = _login(stack, client, account.email, WRONG)
            assert throttled.status_code == 429, throttled.text
            assert throttled.headers["Content-Type"] == "application/problem+json"
            assert "Too many failed attempts" in throttled.json()["detail"]
            wait = int(throttled.headers["Retry-After"])
            assert 1 <= wait <= 10, wait  # a short wait, not a lock-out
            waits.append(wait)
            time.sleep(wait + 0.2)  # the Retry-After the server named is what is under test
            assert _login(stack, client, account.email, WRONG).status_code == 401  # one more try
    finally:
        client.close()
    assert waits[0] < waits[1] < waits[2], waits
