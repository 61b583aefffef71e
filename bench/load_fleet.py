"""Many accounts whose keys all fall due at once: ACCOUNTS accounts with KEYS_PER_ACCOUNT keys each
on the bench fake (every key its own organisation, held to the fake's per-key rate limit), all
scheduled in the same instant, then the scheduler and the sync workers drain the queue.

How they are made. A few accounts (SAMPLE) take the whole real path: signup, the emailed link,
sign-in, three keys through POST /v1/credentials, and their 90-day backfills run to the end. Doing
that for a thousand accounts would take most of an hour (every signup and sign-in hashes a
password with bcrypt), so the others are written the quickest way that still leaves real,
sealed keys: the account document straight into auth's `accounts` store (verified, on Free, the
sample's password hash), each key through keyvault's own StoreCredential over mTLS gRPC (keyvault
seals it and checks the account and plan with auth, as when the gateway calls it), and usage's
side as an account whose keys were backfilled already: its sync target synced up to today and a
finished backfill run under the key's one backfill id (runstore.backfill_run_id), so the
reconciler, which follows keyvault's new keys, finds the backfill done and queues nothing. Then
every target is made due at the same moment, and each key's scheduled sync reads the last
RESYNC_OVERLAP_DAYS days as any scheduled sync of a synced key does."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aicosts.keyvault.v1 import keyvault_pb2 as kv
from pymongo.errors import DuplicateKeyError
from usage.runstore import backfill_run_id

from bench import stats
from bench.fig_keyvault import _stub, identity
from bench.harness import Bench, new_account
from bench.load_users import load_key
from bench.report import check

KEYS_PER_ACCOUNT = 3
SAMPLE = 3
STORE_THREADS = 6
POLL_S = 5.0  # the drain is measured from the runs' own finished_at, not from this loop
FINISHED = ("succeeded", "partial", "failed")


@dataclass(frozen=True)
class Fleet:
    keys: list[tuple[str, str]]  # (account_id, credential_id)
    via_api: int  # accounts made through the gateway
    via_stores: int
    seed_s: float
    reconciler_backfills: int  # keys whose backfill the reconciler queued before we marked it done


def _sample_account(bench: Bench, index: int) -> list[tuple[str, str]]:
    import requests

    account = new_account(bench, f"fleet{index}")
    keys = []
    for k in range(KEYS_PER_ACCOUNT):
        response = requests.post(
            f"{bench.base_url}/v1/credentials",
            headers=account.headers,
            json={"platform": "openai", "api_key": load_key(f"fleet{index}k{k}"), "label": f"k{k}"},
            timeout=30,
        )
        check(response.status_code == 201, f"fleet key: {response.status_code} {response.text[:200]}")
        keys.append((account.account_id, response.json()["credential"]["id"]))
    return keys


def seed(bench: Bench, accounts: int, progress: Callable[[str], None]) -> Fleet:
    started = time.monotonic()
    sample = min(SAMPLE, accounts)
    keys: list[tuple[str, str]] = []
    for i in range(sample):
        keys.extend(_sample_account(bench, i))
    wait_finished(bench, [backfill_run_id(c) for _, c in keys], deadline_s=600)
    progress(f"fleet: {sample} accounts through the API, their backfills done")
    auth_accounts = bench.mongo["aicosts_auth"]["accounts"]
    template = auth_accounts.find_one({"_id": keys[0][0]}) if keys else None
    check(template is not None, "no sample account to copy the password hash from")
    now = dt.datetime.now(dt.UTC)
    docs = []
    for i in range(sample, accounts):
        address = f"fleet{i}-{uuid.uuid4().hex[:8]}@example.com"
        docs.append(
            {
                **{k: template[k] for k in ("role", "plan", "password_hash", "billing")},  # type: ignore[index]
                "_id": uuid.uuid4().hex,
                "email": address,
                "email_key": address,
                "name": f"Fleet {i}",
                "email_verified": True,
                "token_version": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    if docs:
        auth_accounts.insert_many(docs, ordered=False)
    stub = _stub(bench, identity(bench, "gateway"))
    usage_db = bench.mongo["aicosts_usage"]
    raced = [0]

    def store(account_id: str, k: int) -> tuple[str, str]:
        reply = stub.StoreCredential(
            kv.StoreCredentialRequest(
                account_id=account_id, platform="openai", api_key=load_key(f"f{k}"), label=f"k{k}"
            ),
            timeout=30,
        )
        credential_id = reply.credential.id
        stamp = dt.datetime.now(dt.UTC)
        try:
            usage_db["sync_runs"].insert_one(_done_backfill(account_id, credential_id, stamp))
        except DuplicateKeyError:
            raced[0] += 1  # the reconciler was quicker: its backfill runs for real, and is waited for
        usage_db["sync_targets"].update_one(
            {"account_id": account_id, "credential_id": credential_id},
            {
                "$set": {"platform": "openai", "status": "active", "synced_until": stamp.date().isoformat()},
                "$setOnInsert": {
                    "registered_at": stamp,
                    "retry_from": None,
                    "history_days": 90,
                    "next_sync_at": stamp + dt.timedelta(days=1),
                },
            },
            upsert=True,
        )
        return account_id, credential_id

    jobs = [(d["_id"], k) for d in docs for k in range(KEYS_PER_ACCOUNT)]
    with ThreadPoolExecutor(STORE_THREADS) as pool:
        for n, pair in enumerate(pool.map(lambda job: store(*job), jobs), 1):
            keys.append(pair)
            if n % 500 == 0:
                progress(f"fleet: {n} of {len(jobs)} keys stored")
    if raced[0]:
        wait_finished(bench, [backfill_run_id(c) for _, c in keys], deadline_s=1800)
    return Fleet(keys, sample, len(docs), time.monotonic() - started, raced[0])


def _done_backfill(account_id: str, credential_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "_id": backfill_run_id(credential_id),
        "account_id": account_id,
        "credential_id": credential_id,
        "platform": "openai",
        "reason": "backfill",
        "status": "succeeded",
        "from_date": (now.date() - dt.timedelta(days=89)).isoformat(),
        "to_date": now.date().isoformat(),
        "days": 90,
        "days_total": 90,
        "records": 0,
        "error": "",
        "failed_days": [],
        "unavailable_days": [],
        "kept_days": [],
        "notice": "written by the load bench: this key stands for one backfilled long ago",
        "queued_at": now,
        "started_at": now,
        "finished_at": now,
        "owner": None,
        "heartbeat_at": None,
        "attempts": 1,
        "origin": {},
    }


def wait_finished(bench: Bench, run_ids: list[str], deadline_s: float) -> None:
    runs = bench.mongo["aicosts_usage"]["sync_runs"]
    deadline = time.monotonic() + deadline_s
    while runs.count_documents({"_id": {"$in": run_ids}, "status": {"$in": list(FINISHED)}}) < len(run_ids):
        check(time.monotonic() < deadline, f"backfills not finished within {deadline_s:.0f}s")
        time.sleep(1)


def schedule_and_drain(
    bench: Bench, fleet: Fleet, interval_s: float, deadline_s: float, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Make every fleet target due now; wait until each has exactly one finished scheduled run."""
    db = bench.mongo["aicosts_usage"]
    credential_ids = [c for _, c in fleet.keys]
    due_at = dt.datetime.now(dt.UTC)
    db["sync_targets"].update_many(
        {"credential_id": {"$in": credential_ids}}, {"$set": {"next_sync_at": due_at}}
    )
    query = {"credential_id": {"$in": credential_ids}, "reason": "scheduled", "queued_at": {"$gte": due_at}}
    # Polled without the list of keys, and not too often: on the embedded database a count over
    # thousands of ids every second is load of its own. Only fleet keys are due in this window.
    poll = {"reason": "scheduled", "queued_at": {"$gte": due_at}, "status": {"$in": list(FINISHED)}}
    deadline = time.monotonic() + deadline_s
    last_report = 0.0
    while True:
        finished = db["sync_runs"].count_documents(poll)
        if finished >= len(credential_ids):
            break
        done = f"{finished} of {len(credential_ids)} scheduled syncs"
        check(time.monotonic() < deadline, f"only {done} finished within {deadline_s:.0f}s")
        if time.monotonic() - last_report > 30:
            progress(f"fleet: {finished} of {len(credential_ids)} scheduled syncs finished")
            last_report = time.monotonic()
        time.sleep(POLL_S)
    runs = list(db["sync_runs"].find(query))
    per_key: dict[str, int] = {}
    for run in runs:
        per_key[run["credential_id"]] = per_key.get(run["credential_id"], 0) + 1
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    utc = dt.UTC

    def at(value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo else value.replace(tzinfo=utc)

    last_finished = max(at(r["finished_at"]) for r in runs)
    waits = [(at(r["started_at"]) - at(r["queued_at"])).total_seconds() for r in runs]
    durations = [(at(r["finished_at"]) - at(r["started_at"])).total_seconds() for r in runs]
    after_due = [(at(r["finished_at"]) - due_at).total_seconds() for r in runs]
    failed = [
        f"{r['credential_id'][:8]}: {r['status']} {r['error'][:160]}"
        for r in runs
        if r["status"] != "succeeded"
    ]
    return {
        "keys": len(credential_ids),
        "runs": len(runs),
        "keys_synced_twice": sum(1 for n in per_key.values() if n > 1),
        "statuses": statuses,
        "not_succeeded": failed[:10],
        "drain_s": round((last_finished - due_at).total_seconds(), 1),
        "within_interval": max(after_due) <= interval_s,
        "interval_s": interval_s,
        "queue_wait_p50_s": round(stats.median(waits), 1),
        "queue_wait_max_s": round(max(waits), 1),
        "sync_p50_s": round(stats.median(durations), 2),
        "sync_p99_s": round(stats.percentile(durations, 99), 2),
        "records": sum(r.get("records", 0) for r in runs),
    }
