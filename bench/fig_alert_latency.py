"""Figure: how long an alert takes to reach people after the sync that crossed its threshold,
through the real stack. A new account adds the bench OpenAI fake's key (its 90-day backfill
starts), becomes Professional (set in auth's database: the bench stack has no Stripe), and gets a
webhook destination on a local receiver and a budget whose 50 % threshold the fake's month to date
crosses, all long before the backfill ends. Latency = the
alert email's arrival in the outbox, and the signed webhook's arrival at the receiver, each minus
the sync run's finished_at. The issue's floor: 60 s. Each alert must arrive exactly once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench import fake_openai, stats
from bench.harness import Bench, new_account
from bench.report import Figure, check

STACK_ENV = {"USAGE_ALERTS_ALLOW_LOCAL_HTTP": "1"}  # the receiver is on 127.0.0.1
RUNS = 3
FLOOR_S = 60.0
WAIT_S = 240


class Receiver:
    """A customer's webhook endpoint: the arrival time of every POST."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrivals.append(time.time())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _mail_arrival(outbox: Path, to: str, deadline: float) -> tuple[float, int]:
    """When the first budget email to `to` was written, and how many there are."""
    while True:
        found = []
        for path in outbox.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if str(message["To"]).lower() == to.lower() and "Budget" in str(message["Subject"]):
                found.append(path.stat().st_mtime)
        if found:
            return min(found), len(found)
        check(time.monotonic() < deadline, f"no alert email within {WAIT_S}s")
        time.sleep(0.05)


def _one(bench: Bench, receiver: Receiver) -> tuple[float, float]:
    account = new_account(bench, "alerts")
    http = requests.Session()
    http.headers.update(account.headers)
    base = bench.base_url
    # The key first, on Free: its backfill covers 90 days (Professional would make it 365). The
    # budget and the webhook are in place long before that backfill ends.
    key = http.post(
        f"{base}/v1/credentials",
        json={"platform": "openai", "api_key": fake_openai.API_KEY, "label": f"bench {uuid.uuid4().hex[:6]}"},
    )
    check(key.status_code == 201, f"key: {key.status_code} {key.text[:200]}")
    bench.mongo["aicosts_auth"]["accounts"].update_one(
        {"_id": account.account_id}, {"$set": {"plan": "professional"}}
    )
    hook = http.post(
        f"{base}/v1/alert-destinations", json={"kind": "webhook", "name": "bench", "url": receiver.url}
    )
    check(hook.status_code == 201, f"destination: {hook.status_code} {hook.text[:200]}")
    today = dt.datetime.now(dt.UTC).date()
    month = fake_openai.expected_total(today.replace(day=1), today)
    amount = (month * Decimal("1.5")).quantize(Decimal("0.01"))  # month to date = 67 %: past 50 only
    budget = http.post(
        f"{base}/v1/budgets",
        json={
            "name": "bench",
            "amount_usd": str(amount),
            "thresholds": [50],
            "destination_ids": [hook.json()["destination"]["id"]],
        },
    )
    check(budget.status_code == 201, f"budget: {budget.status_code} {budget.text[:200]}")
    before = len(receiver.arrivals)
    runs = bench.mongo["aicosts_usage"]["sync_runs"]
    deadline = time.monotonic() + WAIT_S
    run_id = key.json()["sync_run"]["id"]
    while (run := runs.find_one({"_id": run_id}))["status"] not in ("succeeded", "partial", "failed"):
        check(time.monotonic() < deadline, "the backfill did not finish")
        time.sleep(0.1)
    check(run["status"] == "succeeded", f"backfill {run['status']}")
    finished = run["finished_at"].replace(tzinfo=dt.UTC).timestamp()
    mailed, mails = _mail_arrival(bench.stack.var_dir / "outbox", account.email, deadline)
    while len(receiver.arrivals) == before:
        check(time.monotonic() < deadline, f"no webhook within {WAIT_S}s")
        time.sleep(0.05)
    time.sleep(2)  # a duplicate would arrive by now
    check(mails == 1, f"{mails} alert emails, expected exactly one")
    check(len(receiver.arrivals) - before == 1, "the webhook arrived more than once")
    return max(0.0, mailed - finished), max(0.0, receiver.arrivals[before] - finished)


def run(bench: Bench) -> list[Figure]:
    receiver = Receiver()
    try:
        results = [_one(bench, receiver) for _ in range(RUNS)]
    finally:
        receiver.server.shutdown()
    figures = []
    for name, values in (("email", [r[0] for r in results]), ("webhook", [r[1] for r in results])):
        worst = max(values)
        figures.append(
            Figure(
                f"alert_latency_{name}",
                round(stats.median(values), 2),
                "s after the sync",
                baseline=FLOOR_S,
                baseline_name="the issue's floor (60 s)",
                samples=len(values),
                checked=worst <= FLOOR_S,
                extra={"max_s": round(worst, 2)},
            )
        )
    return figures
