"""The stack the figures measure, started exactly as `make run` does (devstack's launcher), and
what they need from it: a database client, real accounts, the service processes."""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests
from devstack.launcher import Stack, make_stack
from pymongo import MongoClient

from bench.fake_limits import KeyRateLimiter

# A real MongoDB for the stack (a throwaway one: bench accounts and records are written to its
# aicosts_* databases). Without it the stack runs the embedded SecantusDB, as `make run` does.
MONGODB_URI_ENV = "BENCH_MONGODB_URI"
_URL = re.compile(r"https?://\S+")


@dataclass
class Bench:
    stack: Stack
    mongo: MongoClient
    embedded_db: bool
    fake_openai_url: str
    fake_limits: KeyRateLimiter | None = None  # the fake's per-key rate limit and its counts

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    @property
    def tls_dir(self) -> Path:
        return self.stack.var_dir / "secrets" / "tls"


def start(var_dir: Path, extra_env: dict[str, str]) -> tuple[Stack, MongoClient, bool]:
    env = dict(extra_env)
    external = os.environ.get(MONGODB_URI_ENV, "").strip()
    if external:
        env["MONGODB_URI"] = external
    stack = make_stack(var_dir, env)
    stack.start()
    try:
        stack.wait_ready()
    except BaseException:
        stack.stop()
        raise
    uri = external or f"mongodb://127.0.0.1:{stack.ports['devdb']}/"
    return stack, MongoClient(uri, tz_aware=True), not external


# --- accounts: signup -> verification email in the outbox -> verify -> login --------------------


@dataclass(frozen=True)
class Account:
    account_id: str
    email: str
    password: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _post(base_url: str, path: str, body: dict, expected: int) -> dict:
    for _ in range(5):  # a gateway worker may answer 503 while its channel to a backend connects
        response = requests.post(f"{base_url}{path}", json=body, timeout=30)
        if response.status_code != 503:
            break
        time.sleep(1)
    if response.status_code != expected:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def _verification_token(outbox: Path, to: str, timeout_s: float = 15) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if str(message["To"]).lower() != to.lower() or "confirm" not in str(message["Subject"]).lower():
                continue
            body = message.get_body(preferencelist=("plain",))
            for link in _URL.findall(body.get_content() if body is not None else ""):
                token = parse_qs(urlparse(link).query).get("token")
                if token:
                    return token[0]
        time.sleep(0.05)
    raise RuntimeError(f"no verification email to {to} in {outbox}")


def new_account(bench: Bench, prefix: str = "bench") -> Account:
    address = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
    password = f"Bench-{uuid.uuid4().hex}!"
    base = bench.base_url
    _post(base, "/v1/auth/signup", {"email": address, "password": password, "name": "Bench"}, 202)
    token = _verification_token(bench.stack.var_dir / "outbox", address)
    account = _post(base, "/v1/auth/verify-email", {"token": token}, 200)["account"]
    tokens = _post(base, "/v1/auth/login", {"email": address, "password": password}, 200)
    return Account(account["id"], address, password, tokens["access_token"])


def login(bench: Bench, account: Account) -> Account:
    """A fresh access token for an existing bench account (after a restart, or a long figure)."""
    body = {"email": account.email, "password": account.password}
    tokens = _post(bench.base_url, "/v1/auth/login", body, 200)
    return Account(account.account_id, account.email, account.password, tokens["access_token"])


# --- the stack's processes -----------------------------------------------------------------------


def service_processes(stack: Stack) -> dict[str, list[int]]:
    """Service name -> pids (the gateway has a master and workers), found like leftover_pids."""
    found: dict[str, list[int]] = {}
    for pid in stack.leftover_pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = _service_name([a.decode(errors="replace") for a in argv if a])
        if name:
            found.setdefault(name, []).append(pid)
    return found


def _service_name(argv: list[str]) -> str:
    text = " ".join(argv)
    if "gunicorn" in text:
        return "gateway"
    if "devstack.db" in text:
        return "devdb"
    for i, arg in enumerate(argv[:-1]):
        if arg == "-m" and argv[i + 1] in ("auth", "keyvault", "usage", "parser"):
            return argv[i + 1]
    return ""  # honcho and the shells around it


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM: the most resident memory the process has had since it started."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
