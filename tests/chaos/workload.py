"""A steady mixed workload against a chaos stack, in background threads, that records what it did:
every response it saw (for the 'never a 500, never a hang' checks), every request the API
accepted (for the audit and upload checks) and every fake bill behind a key it added (for the
totals). Nothing here asserts; invariants.py does, afterwards."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from support.accounts import TestAccount, new_account
from testkit.fakes import ProviderFakes

# What a client of the API waits at most: a request still unanswered then is a hang.
CLIENT_DEADLINE_S = 20.0
UPLOAD_CSV = (
    Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures" / "openai_cost.csv"
).read_bytes()
UPLOAD_TOTAL = Decimal("0.2343")  # the fixture's own total (tests/integration/test_uploads_api.py)
UPLOAD_MONTH = ("2025-01-01", "2025-01-31")
BILL_DAYS = 20  # each key's fake bills: one line a day on the last BILL_DAYS days


@dataclass(frozen=True)
class Seen:
    """One response (or the failure to get one) as the client saw it."""

    op: str
    method: str
    path: str
    status: int | None  # None: no HTTP answer at all
    content_type: str
    retry_after: str | None
    elapsed_s: float
    request_id: str
    failure: str = ""  # the client exception's type when there was no answer
    at: float = 0.0  # time.monotonic() when it was sent


@dataclass
class Key:
    """A key the workload asked to add: the fake tenant behind it and that tenant's bills."""

    account: TestAccount
    label: str
    api_key: str
    bills: dict[str, Decimal]
    credential_id: str | None = None  # set once the API acknowledged it (201)
    deleted: bool = False  # the API acknowledged the deletion (204)
    setup: bool = False  # added before the faults; never deleted
    delete_unanswered: bool = False  # a deletion was sent but got no answer: it may have happened

    @property
    def total(self) -> Decimal:
        return sum(self.bills.values(), Decimal(0))


@dataclass
class Record:
    seen: list[Seen] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    # (account, request id, action) of each security action the API said it did.
    security: list[tuple[TestAccount, str, str]] = field(default_factory=list)
    uploads: list[tuple[TestAccount, str]] = field(default_factory=list)  # accepted (202)
    imported: list[tuple[TestAccount, str]] = field(default_factory=list)  # import answered 200
    sync_runs: list[tuple[TestAccount, str]] = field(default_factory=list)  # accepted (202)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, op: str, status: int | None = None) -> int:
        return sum(1 for s in self.seen if s.op == op and (status is None or s.status == status))


class Workload:
    def __init__(self, stack: Any, fakes: ProviderFakes, accounts: int, seed: int = 18) -> None:
        self.stack = stack
        self.fakes = fakes
        self.random = random.Random(seed)
        self.record = Record()
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.accounts = [new_account(stack) for _ in range(accounts)]
        for account in self.accounts:  # one key each, synced before the faults start
            self._add_key(account, "setup")

    # --- one request -------------------------------------------------------------------------

    def call(
        self, op: str, method: str, path: str, account: TestAccount | None, **kwargs: Any
    ) -> tuple[Seen, dict]:
        request_id = f"chaos-{op}-{uuid.uuid4().hex[:16]}"
        headers = {"X-Request-ID": request_id, **(account.headers if account else {})}
        started = time.monotonic()
        try:
            r = requests.request(
                method, f"{self.stack.base_url}{path}", headers=headers, timeout=CLIENT_DEADLINE_S, **kwargs
            )
            seen = Seen(
                op, method, path, r.status_code, r.headers.get("Content-Type", ""),
                r.headers.get("Retry-After"), time.monotonic() - started, request_id, at=started,
            )  # fmt: skip
            body = r.json() if r.content and "json" in seen.content_type else {}
        except requests.RequestException as exc:
            seen = Seen(op, method, path, None, "", None, time.monotonic() - started, request_id,
                        type(exc).__name__, at=started)  # fmt: skip
            body = {}
        with self.record.lock:
            self.record.seen.append(seen)
        return seen, body

    # --- the operations ----------------------------------------------------------------------

    def _add_key(self, account: TestAccount, op: str = "credential-add") -> None:
        tenant = self.fakes.openai.tenant()
        today = dt.datetime.now(dt.UTC).date()
        bills: dict[str, Decimal] = {}
        rows = []
        for n in range(1, BILL_DAYS + 1):
            day = (today - dt.timedelta(days=n)).isoformat()
            amount = Decimal(self.random.randrange(1, 100_000)) / 1000  # up to $99.999, sub-cent too
            bills[day] = amount
            rows.append({"date": day, "amount": str(amount), "line_item": "gpt-4o, input"})
        tenant.load_costs(rows)
        key = Key(account, f"chaos-{uuid.uuid4().hex[:10]}", tenant.api_key, bills, setup=op == "setup")
        with self.record.lock:
            self.record.keys.append(key)
        body = {"platform": "openai", "api_key": key.api_key, "label": key.label}
        seen, answer = self.call(op, "POST", "/v1/credentials", account, json=body)
        if seen.status == 201:
            key.credential_id = answer["credential"]["id"]
            with self.record.lock:
                self.record.security.append((account, seen.request_id, "credential.create"))

    def _delete_key(self, key: Key) -> None:
        seen, _ = self.call(
            "credential-delete", "DELETE", f"/v1/credentials/{key.credential_id}", key.account
        )
        if seen.status is None:
            key.delete_unanswered = True
        if seen.status == 204:
            key.deleted = True
            with self.record.lock:
                self.record.security.append((key.account, seen.request_id, "credential.delete"))

    def live_keys(self) -> list[Key]:
        with self.record.lock:
            return [k for k in self.record.keys if k.credential_id and not k.deleted]

    def sign_in(self) -> None:
        account = self.random.choice(self.accounts)
        body = {"email": account.email, "password": account.password}
        seen, _ = self.call("sign-in", "POST", "/v1/auth/login", None, json=body)
        if seen.status == 200:
            with self.record.lock:
                self.record.security.append((account, seen.request_id, "session.login"))

    def summary(self) -> None:
        account = self.random.choice(self.accounts)
        self.call("summary", "GET", "/v1/usage/summary?group_by=day,credential_id", account)

    def credentials(self) -> None:
        account = self.random.choice(self.accounts)
        # Delete only keys added during the run; the setup keys stay for the totals check.
        added = [k for k in self.live_keys() if not k.setup]
        if added and self.random.random() < 0.4:
            self._delete_key(self.random.choice(added))
        else:
            self._add_key(account)

    def sync(self) -> None:
        keys = self.live_keys()
        if not keys:
            return
        key = self.random.choice(keys)
        seen, answer = self.call(
            "sync", "POST", f"/v1/credentials/{key.credential_id}/sync", key.account, json={}
        )
        if seen.status == 202:
            with self.record.lock:
                self.record.sync_runs.append((key.account, answer["sync_run"]["id"]))

    def upload(self) -> None:
        account = self.random.choice(self.accounts)
        files = {"file": ("cost_2025-01.csv", UPLOAD_CSV, "text/csv")}
        seen, answer = self.call("upload", "POST", "/v1/uploads", account, files=files)
        if seen.status != 202:
            return
        upload_id = answer["upload"]["id"]
        with self.record.lock:
            self.record.uploads.append((account, upload_id))
        imported, _ = self.call("import", "POST", f"/v1/uploads/{upload_id}/import", account)
        if imported.status == 200:
            with self.record.lock:
                self.record.imported.append((account, upload_id))

    # --- threads ------------------------------------------------------------------------------

    def start(self) -> None:
        plan = [
            (self.sign_in, 0.3),
            (self.summary, 0.1),
            (self.summary, 0.1),
            (self.credentials, 0.8),
            (self.sync, 0.5),
            (self.upload, 1.0),
        ]
        for i, (operation, think_s) in enumerate(plan):
            thread = threading.Thread(
                target=self._loop, args=(operation, think_s), name=f"chaos-{i}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def _loop(self, operation: Any, think_s: float) -> None:
        while not self.stop_event.is_set():
            operation()
            self.stop_event.wait(think_s)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(CLIENT_DEADLINE_S * 2 + 5)
