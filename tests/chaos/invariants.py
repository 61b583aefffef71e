"""What must hold after every chaos scenario, checked through the API as a user would see it
(and against the fake providers' data, never against what AICosts stored). Each check returns a
line for the scenario's report and raises AssertionError naming every violation it found."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

import requests
from chaos.workload import BILL_DAYS, CLIENT_DEADLINE_S, UPLOAD_MONTH, UPLOAD_TOTAL, Key, Record, Workload
from support.audit import list_events

TERMINAL = ("succeeded", "partial", "failed")


def _get(stack: Any, account: Any, path: str, **params: Any) -> dict:
    """A read for the checks: the stack is up again, so anything but 200 is a failure."""
    r = requests.get(f"{stack.base_url}{path}", params=params, headers=account.headers, timeout=30)
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:300]}"
    return r.json()


def _pages(stack: Any, account: Any, path: str, **params: Any) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        body = _get(stack, account, path, limit=500, **params, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def responses(record: Record, no_answer_ok: bool) -> str:
    """Every response the workload saw: no 500 (no 5xx but 503); every 503 is problem+json with a
    Retry-After; nothing took longer than the client's deadline. `no_answer_ok`: the gateway
    itself was down, so a refused connection is the only answer a client can get."""
    bad = []
    for s in record.seen:
        if s.status is None:
            if not (no_answer_ok and s.failure == "ConnectionError"):
                bad.append(f"{s.op} {s.method} {s.path}: no answer ({s.failure}) after {s.elapsed_s:.1f}s")
        elif s.status >= 500 and s.status != 503:
            bad.append(f"{s.op} {s.method} {s.path}: {s.status} (request {s.request_id})")
        elif s.status == 503 and (s.content_type != "application/problem+json" or not s.retry_after):
            bad.append(f"{s.op} {s.path}: 503 as {s.content_type!r}, Retry-After {s.retry_after!r}")
        if s.elapsed_s > CLIENT_DEADLINE_S:
            bad.append(f"{s.op} {s.path}: {s.elapsed_s:.1f}s, past the {CLIENT_DEADLINE_S}s deadline")
    assert not bad, f"{len(bad)} bad responses of {len(record.seen)}:\n" + "\n".join(bad[:40])
    by_status: dict[Any, int] = defaultdict(int)
    for s in record.seen:
        by_status[s.status or s.failure] += 1
    slowest = max((s.elapsed_s for s in record.seen), default=0.0)
    return (
        f"responses: {len(record.seen)} ({dict(sorted(by_status.items(), key=str))}), none 500, every 503 "
        f"problem+json with Retry-After, slowest {slowest:.1f}s < {CLIENT_DEADLINE_S:g}s deadline"
    )


def sync_runs_end(workload: Workload, timeout_s: float) -> str:
    """Every sync run of every account reaches a terminal state; a failed or partial run says why."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = [r for a in workload.accounts for r in _pages(workload.stack, a, "/v1/sync-runs")]
        active = [r for r in runs if r["status"] not in TERMINAL]
        if not active:
            break
        assert time.monotonic() < deadline, (
            f"{len(active)} runs still active after {timeout_s}s: {active[:3]}"
        )
        time.sleep(0.5)
    unexplained = [r for r in runs if r["status"] != "succeeded" and not (r["error"] or "").strip()]
    assert not unexplained, f"runs that failed without saying why: {unexplained[:3]}"
    lying = [r for r in runs if r["status"] == "succeeded" and (r["error"] or r["failed_days"])]
    assert not lying, f"succeeded runs that report failures: {lying[:3]}"
    accepted = {run_id for _, run_id in workload.record.sync_runs}
    missing = accepted - {r["id"] for r in runs}
    assert not missing, f"accepted sync runs that vanished: {sorted(missing)[:5]}"
    counts: dict[str, int] = defaultdict(int)
    for r in runs:
        counts[r["status"]] += 1
    failed = [f"{r['status']}: {r['error']}" for r in runs if r["status"] != "succeeded"]
    return f"sync runs: {len(runs)} all terminal {dict(counts)}" + (
        f"; not succeeded: {failed[:5]}" if failed else ""
    )


def _expected_keys(workload: Workload, account: Any, listed: list[dict]) -> list[tuple[dict, Key]]:
    """The account's listed keys, each with the workload key (and so the fake tenant) behind it.
    A key the API never acknowledged may exist anyway (the answer was lost): it must still be one
    the workload asked for; an acknowledged key must be listed unless its deletion was."""
    by_label = {k.label: k for k in workload.record.keys if k.account is account}
    pairs = []
    for credential in listed:
        key = by_label.get(credential["label"])
        assert key is not None, f"a key nobody added: {credential}"
        assert not key.deleted, f"a deleted key is listed again: {credential}"
        pairs.append((credential, key))
    ids = {c["id"] for c in listed}
    lost = [
        k.label
        for k in by_label.values()
        if k.credential_id and not k.deleted and not k.delete_unanswered and k.credential_id not in ids
    ]
    assert not lost, f"acknowledged keys that vanished: {lost}"
    return pairs


def totals(workload: Workload, timeout_s: float) -> str:
    """Per listed key, the stored total of its bill days equals the fake provider's bills to the
    cent, with one record a day (none counted twice). A deleted key's records stay (usage forgets
    the key, not its history): never more than its bills. Nothing else is stored."""
    today = dt.datetime.now(dt.UTC).date()
    window = {"from": (today - dt.timedelta(days=BILL_DAYS)).isoformat(), "to": today.isoformat()}
    checked = Decimal(0)
    keys = 0
    for account in workload.accounts:
        listed = _pages(workload.stack, account, "/v1/credentials")
        pairs = _expected_keys(workload, account, listed)
        expected = {c["id"]: key.total for c, key in pairs}
        deleted = {
            k.credential_id: k.total for k in workload.record.keys if k.account is account and k.deleted
        }
        deadline = time.monotonic() + timeout_s
        while True:  # a sync queued last may still be writing
            body = _get(workload.stack, account, "/v1/usage/summary", group_by="credential_id", **window)
            groups = {g["credential_id"]: g for g in body["groups"]}
            stored = {k: Decimal(g["cost_usd"]) for k, g in groups.items() if k in expected}
            problems = [
                f"{k}: stored {stored.get(k)} billed {v}" for k, v in expected.items() if stored.get(k) != v
            ]
            problems += [
                f"{k}: {g['cost_usd']} stored for a deleted key billed {deleted[k]}"
                for k, g in groups.items()
                if k in deleted and Decimal(g["cost_usd"]) > deleted[k]
            ]
            problems += [f"{k}: stored for no key ({g['cost_usd']})" for k, g in groups.items() if
                         k not in expected and k not in deleted]  # fmt: skip
            problems += [
                f"{k}: {groups[k]['records']} records for {BILL_DAYS} billed days"
                for k in expected
                if k in groups and groups[k]["records"] != BILL_DAYS
            ]
            if not problems:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"account {account.account_id}: " + "; ".join(problems))
            time.sleep(0.5)
        checked += sum(expected.values(), Decimal(0))
        keys += len(pairs)
    return (
        f"totals: {keys} listed keys, ${checked} billed by the fakes = stored to the cent, "
        f"{BILL_DAYS} records each; deleted keys' history never above their bills; nothing else stored"
    )


# An import the parser's death interrupted is finished by the restarted parser once the usage
# call's deadline (30 s) and a margin have passed, on its next 10 s pass (parser.importrecovery).
INTERRUPTED_IMPORT_S = 50.0


def uploads(workload: Workload, settle_s: float = INTERRUPTED_IMPORT_S) -> str:
    """Every accepted upload is imported or reports why not; an import answered 200 is imported;
    the month the file covers holds the file's total once, however often it was imported, and
    an upload whose import was cut short is finished (within settle_s), never left as "parsed"
    while its records count."""
    imported = {upload_id for _, upload_id in workload.record.imported}
    states: dict[str, int] = defaultdict(int)
    started = time.monotonic()
    for account in workload.accounts:
        ours = {u for a, u in workload.record.uploads if a is account}
        while True:
            listed = {u["id"]: u for u in _pages(workload.stack, account, "/v1/uploads")}
            span = {"from": UPLOAD_MONTH[0], "to": UPLOAD_MONTH[1]}
            month = _get(workload.stack, account, "/v1/usage/summary", **span)
            any_imported = any(u["status"] == "imported" for u in listed.values())
            want = UPLOAD_TOTAL if any_imported else Decimal(0)
            if Decimal(month["total_cost_usd"]) == want or time.monotonic() - started > settle_s:
                break
            time.sleep(1)
        assert Decimal(month["total_cost_usd"]) == want, (
            f"uploaded month holds {month['total_cost_usd']}, want {want} "
            f"(uploads: {sorted((u['id'], u['status']) for u in listed.values())})"
        )
        for upload_id in ours:
            u = listed.get(upload_id)
            assert u is not None, f"accepted upload {upload_id} vanished"
            assert u["status"] in ("parsed", "imported", "failed"), f"upload stuck: {u['status']} {upload_id}"
            assert u["status"] != "failed" or u["error"], f"failed upload without a reason: {upload_id}"
            if upload_id in imported:
                assert u["status"] == "imported", f"import answered 200 but the upload is {u['status']}"
            states[u["status"]] += 1
    waited = time.monotonic() - started
    return f"uploads: {sum(states.values())} accepted, {dict(states)}; each file's month counted once" + (
        f" (an interrupted import finished after {waited:.0f}s)" if waited > 5 else ""
    )


def audit(workload: Workload, timeout_s: float) -> str:
    """An audit event for every security action the API acknowledged (sign-in, key added, key
    deleted), under that request's id."""
    by_account: dict[str, list[tuple[str, str]]] = defaultdict(list)
    accounts = {}
    for account, request_id, action in workload.record.security:
        by_account[account.account_id].append((request_id, action))
        accounts[account.account_id] = account
    deadline = time.monotonic() + timeout_s
    while True:
        missing = []
        for account_id, wanted in by_account.items():
            events = list_events(requests, workload.stack, accounts[account_id])
            have = {(e["request_id"], e["action"]) for e in events if e["outcome"] == "success"}
            missing += [w for w in wanted if w not in have]
        if not missing:
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(missing)} acknowledged security actions have no audit event: {missing[:10]}"
            )
        time.sleep(0.5)
    kinds: dict[str, int] = defaultdict(int)
    for _, _, action in workload.record.security:
        kinds[action] += 1
    return f"audit: an event for each of {len(workload.record.security)} security actions {dict(kinds)}"
