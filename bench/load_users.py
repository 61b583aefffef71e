"""Signed-in users for the load figure: each one a real account (signup, the emailed link,
sign-in with the browser's session cookie, POST /web/session) holding one provider key on the
bench fake (its 90-day backfill starts when it is added, as for any user), and what a user does:
load the overview's API calls and the breakdown page's queries, one after another, then think.
Every answer that is not 200 is kept (status, call, the start of the body) to be printed."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench import fake_openai
from bench.fig_web import overview_calls
from bench.harness import Bench, new_account
from bench.report import check

THINK_S = (1.0, 3.0)
SIGNUP_THREADS = 2  # each signup and sign-in hashes a password in auth: more only queue there
BREAKDOWN_GROUPS = ("platform", "model", "credential_id", "project", "day")


def load_key(label: str) -> str:
    """A provider key of its own on the bench fake (its own rate-limit window)."""
    return f"{fake_openai.LOAD_KEY_PREFIX}{label}-{uuid.uuid4().hex[:16]}"


def user_calls(today: dt.date) -> list[tuple[str, str, dict[str, str]]]:
    """(name, path, params): the overview's calls, then the breakdown page's default 30 days
    grouped each way it offers."""
    calls = []
    for path, params in overview_calls(today):
        name = f"{path}?group_by={params['group_by']}" if "group_by" in params else path
        calls.append((f"overview {name}", path, params))
    frm, to = (today - dt.timedelta(days=29)).isoformat(), today.isoformat()
    for group in BREAKDOWN_GROUPS:
        params = {"from": frm, "to": to, "group_by": group}
        calls.append((f"breakdown /v1/usage/summary?group_by={group}", "/v1/usage/summary", params))
    return calls


@dataclass
class User:
    base_url: str
    session: requests.Session
    credential_id: str


@dataclass
class Outcomes:
    """Latencies per call name and every error, from any number of threads."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(name, []).append(seconds)
            if error is not None:
                self.errors.append(error)


SIGN_IN_BUSY: list[int] = []  # 503s answered to a sign-in (auth's bcrypt turns full), retried as a user would


def sign_in(bench: Bench, index: int) -> User:
    account = new_account(bench, f"load{index}")
    session = requests.Session()
    for _ in range(5):
        response = session.post(
            f"{bench.base_url}/web/session",
            json={"email": account.email, "password": account.password},
            timeout=30,
        )
        if response.status_code != 503:
            break
        SIGN_IN_BUSY.append(index)
        time.sleep(float(response.headers.get("Retry-After", "5")))
    check(response.status_code == 200, f"POST /web/session answered {response.status_code}")
    # Writes with the session cookie carry the CSRF cookie's value in a header, as the page's JS does.
    session.headers["X-CSRF-Token"] = session.cookies.get("aicosts_csrf") or ""
    key = session.post(
        f"{bench.base_url}/v1/credentials",
        json={"platform": "openai", "api_key": load_key(f"user{index}"), "label": "load"},
        timeout=30,
    )
    check(key.status_code == 201, f"POST /v1/credentials answered {key.status_code}: {key.text[:200]}")
    return User(bench.base_url, session, key.json()["credential"]["id"])


def sign_in_all(bench: Bench, count: int) -> list[User]:
    with ThreadPoolExecutor(SIGNUP_THREADS) as pool:
        return list(pool.map(lambda i: sign_in(bench, i), range(count)))


KEEPALIVE_RETRIES: list[str] = []  # GETs sent again after their idle connection closed under them


def timed_get(user: User, name: str, path: str, params: dict[str, str], outcomes: Outcomes) -> None:
    started = time.perf_counter()
    error = None
    for attempt in range(2):
        try:
            response = user.session.get(f"{user.base_url}{path}", params=params, timeout=30)
            if response.status_code != 200:
                error = f"{name}: {response.status_code} {response.text[:200]}"
            break
        except requests.ConnectionError as exc:
            # A GET sent just as the gateway closes an idle keep-alive connection fails; a browser
            # sends it again on a new connection (RFC 9112 9.3.1), once: so does the bench, and
            # counts it. The gateway keeps idle connections 75 s, so the count should be 0.
            if attempt == 0:
                KEEPALIVE_RETRIES.append(name)
                continue
            error = f"{name}: {type(exc).__name__}"
        except requests.RequestException as exc:
            error = f"{name}: {type(exc).__name__}"
            break
    outcomes.add(name, time.perf_counter() - started, error)


def browse(user: User, calls: list, stop_at: float, outcomes: Outcomes, seed: int) -> None:
    """One user until stop_at: every call of the two pages, then a think time."""
    rng = random.Random(seed)
    time.sleep(rng.uniform(0, THINK_S[1]))  # users arrive spread out, not in lockstep
    while time.monotonic() < stop_at:
        for name, path, params in calls:
            timed_get(user, name, path, params, outcomes)
        time.sleep(min(rng.uniform(*THINK_S), max(0.0, stop_at - time.monotonic())))


def keep_syncing(users: list[User], stop: threading.Event, every_s: float, outcomes: Outcomes) -> int:
    """A manual sync (POST /v1/credentials/{id}/sync, 30 days) for one user after another, so syncs
    run against the fake for the whole load, not only the keys' first backfills."""
    started = 0
    while not stop.wait(every_s):
        user = users[started % len(users)]
        began = time.perf_counter()
        response = user.session.post(f"{user.base_url}/v1/credentials/{user.credential_id}/sync", timeout=30)
        error = None if response.status_code == 202 else f"sync: {response.status_code} {response.text[:200]}"
        outcomes.add("POST /v1/credentials/{id}/sync", time.perf_counter() - began, error)
        started += 1
    return started
