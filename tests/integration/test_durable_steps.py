"""Kill between steps (issue 19): each two-step workflow that crosses services survives its
process dying between the steps, and the second step then happens exactly once.

- key stored -> backfill queued: the gateway dies after keyvault StoreCredential, before usage
  StartSync; usage's reconciler backfills the key from keyvault's change feed.
- key deleted -> key forgotten: the gateway dies after keyvault DeleteCredential, before usage
  ForgetCredential; the reconciler forgets the key from its tombstone.
- payment -> plan applied: auth dies after writing the plan, before marking the Stripe event
  done; the reconciler applies the plan from auth's plan changes (keys beyond it paused).
- the reconciler itself dies after queueing a backfill, before saving its cursor; restarted, it
  reads the change again and queues nothing more.

The crashes are real (svccommon.failpoints: os._exit(137) where AICOSTS_FAILPOINT names the
point) in extra processes next to the session stack: a usage replica with a database of its own
(so only its reconciler writes there), a gateway that calls it, and an auth replica (the session
auth's database). The gateway's gunicorn master restarts its dead worker, as in production;
the test restarts auth and usage, as Kubernetes would."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from devstack.__main__ import stack_env
from pymongo import MongoClient
from pymongo.database import Database
from support import processes
from support.accounts import new_account
from support.billing import deliver_event, plan_of, upgrade
from support.ports import free_ports
from support.usage_api import add_credential
from testkit.fakes.stripe_api import FakeStripe

pytestmark = pytest.mark.slow  # starts three more processes next to the session stack

DEADLINE_S = 45
GATEWAY_FAILPOINTS = "credential-stored,credential-deleted"


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s} s: {what}")


@dataclass
class Rig:
    stack: Any
    log_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    usage_db: Database
    keyvault_db: Database
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def gateway(self) -> SimpleNamespace:
        return SimpleNamespace(base_url=f"http://127.0.0.1:{self.ports['gateway']}")

    def env_of(self, name: str, failpoints: str = "") -> dict[str, str]:
        env = dict(self.env)
        if name == "usage":
            env["MONGODB_DATABASE"] = self.usage_db.name
            env["USAGE_SYNC_INTERVAL_SECONDS"] = "0"  # only backfills, no scheduled syncs
            env["USAGE_SYNC_WORKERS"] = "1"
            env["USAGE_RECONCILE_INTERVAL_SECONDS"] = "0.3"
            env["USAGE_RECONCILE_OVERLAP_SECONDS"] = "1"
        if name in ("gateway", "auth"):
            # The auth replica: the gateway calls it; the usage replica and the session stack
            # keep calling the session's auth (the same database).
            env["AUTH_ADDR"] = f"127.0.0.1:{self.ports['auth']}"
        if failpoints:
            env["AICOSTS_FAILPOINT"] = failpoints
            env["AICOSTS_ENV"] = "development"  # failpoints arm only there
        return env

    def start(self, name: str, failpoints: str = "") -> None:
        if name == "gateway":
            self.procs[name] = processes.start_gateway(self.env_of(name, failpoints), self.log_dir)
        else:
            argv = [sys.executable, "-m", name]
            self.procs[name] = processes.start(name, argv, self.env_of(name, failpoints), self.log_dir)

    def wait_ready(self) -> None:
        processes.wait_ready(self.gateway.base_url, list(self.procs.values()), self.log_dir)

    def wait_died(self, name: str) -> int:
        code = self.procs[name].wait(DEADLINE_S)
        assert code == 137, f"{name} exited with {code}:\n{processes.logs(self.log_dir)[-3000:]}"
        return code

    def stop(self, name: str) -> None:
        processes.stop([self.procs[name]])

    # --- what usage's own database shows -------------------------------------------------------

    def backfills(self, credential_id: str) -> list[dict]:
        return list(self.usage_db["sync_runs"].find({"credential_id": credential_id, "reason": "backfill"}))

    def target(self, credential_id: str) -> dict | None:
        return self.usage_db["sync_targets"].find_one({"credential_id": credential_id})

    def reconciled_past(self, credential_id: str) -> bool:
        """The reconciler's saved cursor is at or past the credential's latest change."""
        doc = self.keyvault_db["credentials"].find_one({"_id": credential_id})
        cursor = self.usage_db["reconciler_cursors"].find_one({"_id": "credentials"})
        return bool(
            doc and cursor and (cursor["changed_at"], cursor["id"]) >= (doc["changed_at"], doc["_id"])
        )


@pytest.fixture(scope="module")
def rig(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    log_dir = tmp_path_factory.mktemp("durable")
    ports = dict(zip(("usage", "auth", "gateway"), free_ports(3), strict=True))
    env = stack_env(dict(stack.env))
    env.update(
        {
            "USAGE_PORT": str(ports["usage"]),
            "USAGE_ADDR": f"127.0.0.1:{ports['usage']}",
            "AUTH_PORT": str(ports["auth"]),
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_WORKERS": "1",
        }
    )
    client: MongoClient = MongoClient(stack.env["MONGODB_URI"], tz_aware=True)
    usage_db = client[f"aicosts_usage_durable_{uuid.uuid4().hex[:8]}"]
    # Start following the feeds from now: earlier tests' keys are not this replica's business.
    now = dt.datetime.now(dt.UTC)
    for feed in ("credentials", "plans"):
        usage_db["reconciler_cursors"].insert_one({"_id": feed, "changed_at": now, "id": ""})
    rig = Rig(stack, log_dir, env, ports, usage_db, client["aicosts_keyvault"])
    try:
        rig.start("usage")
        rig.start("auth", "stripe-plan-written")
        rig.start("gateway", GATEWAY_FAILPOINTS)
        rig.wait_ready()
        yield rig
    finally:
        processes.stop(list(rig.procs.values()))
        client.drop_database(usage_db.name)
        client.close()


def _credential_ids(stack: Any, account: Any) -> list[str]:
    response = requests.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def test_gateway_dies_after_storing_a_key_and_the_backfill_still_happens_once(
    rig: Rig, stack: Any, provider_fakes: Any
) -> None:
    account = new_account(stack)
    with pytest.raises(requests.ConnectionError):
        add_credential(requests, rig.gateway, account, "openai", provider_fakes.openai.tenant().api_key)
    (credential_id,) = _credential_ids(stack, account)  # step one happened: the key is stored
    runs = wait_until(lambda: rig.backfills(credential_id), "the reconciler queues the backfill")
    wait_until(lambda: rig.reconciled_past(credential_id), "the reconciler's cursor passes the key")
    assert [r["_id"] for r in rig.backfills(credential_id)] == [runs[0]["_id"]]
    assert rig.target(credential_id) is not None  # and it joined the scheduled syncs
    rig.wait_ready()  # gunicorn's master restarted the worker


def test_gateway_dies_after_deleting_a_key_and_usage_still_forgets_it_once(
    rig: Rig, stack: Any, provider_fakes: Any
) -> None:
    account = new_account(stack)
    credential = add_credential(requests, stack, account, "openai", provider_fakes.openai.tenant().api_key)
    credential_id = credential["id"]
    wait_until(lambda: rig.target(credential_id), "the reconciler registers the new key")
    with pytest.raises(requests.ConnectionError):
        requests.delete(
            f"{rig.gateway.base_url}/v1/credentials/{credential_id}", headers=account.headers, timeout=30
        )
    assert _credential_ids(stack, account) == []  # step one happened: the key is gone
    wait_until(lambda: rig.target(credential_id) is None, "the reconciler forgets the deleted key")
    wait_until(lambda: rig.reconciled_past(credential_id), "the reconciler's cursor passes the deletion")
    forgotten = {"action": "usage.credential_forgotten", "target.id": credential_id}
    wait_until(lambda: rig.usage_db["audit_events"].count_documents(forgotten), "the forget is audited")
    assert rig.usage_db["audit_events"].count_documents(forgotten) == 1
    assert len(rig.backfills(credential_id)) == 1
    rig.wait_ready()


def test_auth_dies_after_writing_a_plan_and_usage_still_applies_it(
    rig: Rig, stack: Any, stripe_fake: FakeStripe, provider_fakes: Any
) -> None:
    account = new_account(stack)
    session_id = upgrade(stack, stripe_fake, account)  # through the session stack's own auth
    ids = [
        add_credential(requests, stack, account, "openai", provider_fakes.openai.tenant().api_key)["id"]
        for _ in range(4)
    ]
    plans = rig.usage_db["account_plans"]
    wait_until(lambda: all(rig.target(i) for i in ids), "the reconciler registers the four keys")
    wait_until(lambda: (plans.find_one({"_id": account.account_id}) or {}).get("plan") == "professional",
               "usage has the paid plan")  # fmt: skip

    cancelled = stripe_fake.event(
        "customer.subscription.deleted", stripe_fake.subscription_of(session_id, "canceled")
    )
    assert deliver_event(rig.gateway, stripe_fake, cancelled).status_code >= 500  # auth died answering
    rig.wait_died("auth")
    assert plan_of(stack, account) == "free"  # step one happened: auth wrote the plan
    rig.start("auth")  # restarted, as its supervisor would
    rig.wait_ready()

    def applied() -> bool:
        targets = {
            t["credential_id"]: t
            for t in rig.usage_db["sync_targets"].find({"account_id": account.account_id})
        }
        plan = (plans.find_one({"_id": account.account_id}) or {}).get("plan")
        return plan == "free" and [i for i in ids if targets[i].get("paused")] == [ids[3]]

    wait_until(applied, "usage has the free plan and pauses the newest key")


def test_the_reconciler_dies_after_queueing_a_backfill_and_queues_nothing_more(
    rig: Rig, stack: Any, provider_fakes: Any
) -> None:
    rig.stop("usage")
    rig.start("usage", "reconciler-backfill-started")
    account = new_account(stack)
    credential_id = add_credential(
        requests, stack, account, "openai", provider_fakes.openai.tenant().api_key
    )["id"]  # the session gateway's fast path goes to the session usage, not to this replica
    rig.wait_died("usage")
    assert len(rig.backfills(credential_id)) == 1 and not rig.reconciled_past(credential_id)
    rig.start("usage")
    wait_until(lambda: rig.reconciled_past(credential_id), "the restarted reconciler passes the key")
    assert len(rig.backfills(credential_id)) == 1
