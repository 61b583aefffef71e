"""Accounts for gateway tests, made the way a person makes one: sign up through the gateway, open
the verification link from the stack's outbox, sign in. Tests depend only on TestAccount."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import requests
from pymongo import MongoClient
from pymongo.database import Database
from requests.adapters import HTTPAdapter

from support import outbox

DEFAULT_NAME = "Test User"


@dataclass(frozen=True)
class TestAccount:
    __test__ = False  # not a pytest test class

    account_id: str
    access_token: str
    email: str = ""
    password: str = ""
    refresh_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def strong_password() -> str:
    return f"Pw-{uuid.uuid4().hex[:16]}!"


def _check(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else {}


def _post(client, url: str, body: dict) -> requests.Response:
    """POST, trying again after a 503 as the API asks clients to (a gateway worker whose channel to
    a just-started backend is still backing off answers 503 for a moment after the stack is up)."""
    deadline = time.monotonic() + 5
    while True:
        response = client.post(url, json=body, timeout=30)
        if response.status_code != 503 or time.monotonic() >= deadline:
            return response
        time.sleep(0.25)


def signup(
    stack, email: str, password: str, name: str = DEFAULT_NAME, http: requests.Session | None = None
) -> dict:
    """The 202 answer of a signup (it names no account: see verify). Without `http`, from a loopback
    address of its own, so the per-network signup limit never touches the rest of the suite."""
    body = {"email": email, "password": password, "name": name}
    if http is not None:
        return _check(_post(http, f"{stack.base_url}/v1/auth/signup", body), 202)
    with session_from(random_loopback_ip()) as client:
        return _check(_post(client, f"{stack.base_url}/v1/auth/signup", body), 202)


def verify(stack, email: str, http: requests.Session | None = None) -> dict:
    """Open the link of the latest verification email to `email`; the verified account."""
    token = outbox.latest(stack, email, "confirm your email").token()
    response = _post(http or requests, f"{stack.base_url}/v1/auth/verify-email", {"token": token})
    return _check(response, 200)["account"]


def login(stack, email: str, password: str, http: requests.Session | None = None) -> dict:
    """The 200 body of a sign-in: tokens, or {mfa_required, mfa_token}."""
    body = {"email": email, "password": password}
    return _check(_post(http or requests, f"{stack.base_url}/v1/auth/login", body), 200)


def new_account(
    stack, *, email: str | None = None, password: str | None = None, name: str = DEFAULT_NAME
) -> TestAccount:
    """A verified account with a live session (signup → verification email → verify → login)."""
    email = email or unique_email()
    password = password or strong_password()
    signup(stack, email, password, name)
    account = verify(stack, email)
    tokens = login(stack, email, password)
    return TestAccount(
        account_id=account["id"],
        access_token=tokens["access_token"],
        email=email,
        password=password,
        refresh_token=tokens["refresh_token"],
    )


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_ip: str) -> None:
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source_ip: str) -> requests.Session:
    """A client connecting from another loopback address (127.x.y.z), so per-IP limits it
    triggers stay away from the rest of the suite, which connects from 127.0.0.1."""
    session = requests.Session()
    adapter = _SourceAddressAdapter(source_ip)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def random_loopback_ip() -> str:
    raw = uuid.uuid4().bytes
    return f"127.{raw[0] % 250 + 2}.{raw[1]}.{raw[2] % 250 + 2}"


@contextlib.contextmanager
def auth_db(mongo_uri: str) -> Iterator[Database]:
    """The auth service's own database in the session stack (tests only read it)."""
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    try:
        yield client["aicosts_auth"]
    finally:
        client.close()


# --- two-factor helpers -------------------------------------------------------------------------


def totp_code(secret: str, step: int) -> str:
    """The 6-digit RFC 6238 code of a 30-second step."""
    return pyotp.TOTP(secret).at(step * 30)


def fresh_step(margin_s: float = 8.0) -> int:
    """The current TOTP step, first waiting for the next one if fewer than `margin_s` seconds of
    this one are left, so a test's codes stay inside the ±1-step window while it runs."""
    left = 30 - time.time() % 30
    if left < margin_s:
        time.sleep(left + 0.1)
    return int(time.time() // 30)


@dataclass(frozen=True)
class TwoFactor:
    secret: str
    backup_codes: list[str]
    step: int  # the current step when 2FA was confirmed; step - 1 is already used

    def code(self, offset: int = 0) -> str:
        return totp_code(self.secret, self.step + offset)


def enable_2fa(stack, account: TestAccount, http: requests.Session | None = None) -> TwoFactor:
    """Set up and confirm TOTP (each step with the password again). Confirms with the previous
    step's code, so the codes of the current and the next step (offsets 0 and +1) are still unused
    for the test to sign in with."""
    client = http or requests
    step = fresh_step()
    setup = client.post(
        f"{stack.base_url}/v1/me/2fa/setup",
        json={"password": account.password},
        headers=account.headers,
        timeout=30,
    )
    setup = _check(setup, 200)
    confirm = client.post(
        f"{stack.base_url}/v1/me/2fa/confirm",
        json={"password": account.password, "code": totp_code(setup["secret"], step - 1)},
        headers=account.headers,
        timeout=30,
    )
    return TwoFactor(setup["secret"], _check(confirm, 200)["backup_codes"], step)
