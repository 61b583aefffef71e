"""One of each audited action, driven through the gateway (and one refused call between services):
each request's id finds exactly the events it caused, in the service that keeps each, with the
right actor, outcome, client IP, user agent and request id."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import grpc
import requests
from aicosts.usage.v1 import usage_pb2, usage_pb2_grpc
from support.accounts import TestAccount, enable_2fa, signup, strong_password, unique_email, verify
from support.audit import wait_for_events
from support.grpc_clients import channel_as, identity_files
from support.usage_api import wait_for_runs

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"
USER_AGENT = "audit-trail-test/1.0"


class Trail:
    """A client that sends each step with its own X-Request-ID and remembers what it expects."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.run = uuid.uuid4().hex[:8]
        self.http = requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT
        # Not believed: the gateway sits behind no trusted proxy here (GATEWAY_TRUSTED_PROXIES=0).
        self.http.headers["X-Forwarded-For"] = "203.0.113.77"
        self.expected: dict[str, list[tuple[str, str, str, str]]] = {}

    def request_id(self, step: str) -> str:
        return f"trail-{self.run}-{step}"

    def send(
        self, step: str, method: str, path: str, account: Any = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"X-Request-ID": self.request_id(step), **(account.headers if account else {})}
        url = f"{self.stack.base_url}{path}"
        return self.http.request(method, url, headers=headers, timeout=60, **kwargs)

    def expect(self, step: str, *events: tuple[str, str, str, str]) -> None:
        self.expected[self.request_id(step)] = sorted(events)


def _by_request(events: list[dict]) -> dict[str, list[tuple[str, str, str, str]]]:
    found: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for e in events:
        found[e["request_id"]].append((e["service"], e["action"], e["outcome"], e["actor"]))
    return found


def test_each_action_leaves_exactly_its_audit_events(stack, provider_fakes, tmp_path):
    t = Trail(stack)
    email, password = unique_email("trail"), strong_password()

    # --- accounts and sessions (auth) ---------------------------------------------------------
    t.http.headers["X-Request-ID"] = t.request_id("signup")
    signup(stack, email, password, http=t.http)
    del t.http.headers["X-Request-ID"]
    account_id = verify(stack, email)["id"]
    me = f"account:{account_id}"
    t.expect("signup", ("auth", "account.signup", "success", me))

    bad = t.send("bad-login", "POST", "/v1/auth/login", json={"email": email, "password": password + "x"})
    assert bad.status_code == 401, bad.text
    t.expect("bad-login", ("auth", "session.login", "failure", "anonymous"))

    login = t.send("login", "POST", "/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    account = TestAccount(account_id, login.json()["access_token"], email, password)
    t.expect("login", ("auth", "session.login", "success", me))

    # --- credentials (keyvault) and syncs (usage; keyvault reveals the key to usage) ------------
    tenant = provider_fakes.openai.tenant()
    created = t.send(
        "credential-create",
        "POST",
        "/v1/credentials",
        account,
        json={"platform": "openai", "api_key": tenant.api_key, "label": "trail"},
    )
    assert created.status_code == 201, created.text
    credential_id = created.json()["credential"]["id"]
    sync_events = (
        ("usage", "sync.started", "success", me),
        ("keyvault", "credential.reveal", "success", "service:usage"),
        ("usage", "sync.finished", "success", me),
    )
    t.expect("credential-create", ("keyvault", "credential.create", "success", me), *sync_events)
    wait_for_runs(t.http, stack, account, credential_id)  # the 90-day backfill

    synced = t.send("sync", "POST", f"/v1/credentials/{credential_id}/sync", account, json={})
    assert synced.status_code == 202, synced.text
    t.expect("sync", *sync_events)
    wait_for_runs(t.http, stack, account, credential_id)

    deleted = t.send("credential-delete", "DELETE", f"/v1/credentials/{credential_id}", account)
    assert deleted.status_code == 204, deleted.text
    t.expect(
        "credential-delete",
        ("keyvault", "credential.delete", "success", me),
        ("usage", "usage.credential_forgotten", "success", me),
    )

    # --- billing files (parser; usage keeps the imported records) ------------------------------
    files = {"file": ("cost.csv", (FIXTURES / "openai_cost.csv").read_bytes(), "text/csv")}
    up = t.send("upload-create", "POST", "/v1/uploads", account, files=files)
    assert up.status_code == 202, up.text
    upload_id = up.json()["upload"]["id"]
    t.expect("upload-create", ("parser", "upload.created", "success", me))
    imported = t.send("upload-import", "POST", f"/v1/uploads/{upload_id}/import", account)
    assert imported.status_code == 200, imported.text
    t.expect(
        "upload-import",
        ("usage", "usage.records_imported", "success", me),
        ("parser", "upload.imported", "success", me),
    )
    gone = t.send("upload-delete", "DELETE", f"/v1/uploads/{upload_id}", account)
    assert gone.status_code == 204, gone.text
    t.expect(
        "upload-delete",
        ("usage", "usage.records_deleted", "success", me),
        ("parser", "upload.deleted", "success", me),
    )

    # --- two-factor (auth; the seed is sealed and opened by keyvault for auth) -----------------
    t.http.headers["X-Request-ID"] = t.request_id("2fa-on")
    enable_2fa(stack, account, http=t.http)
    del t.http.headers["X-Request-ID"]
    t.expect(
        "2fa-on",
        ("auth", "mfa.setup_started", "success", me),
        ("keyvault", "secret.decrypt", "success", "service:auth"),
        ("auth", "mfa.enabled", "success", me),
    )

    # --- a call the allowlist refuses between services (parser may not start syncs) -----------
    files_dir = identity_files(stack.var_dir / "secrets" / "tls", "parser", tmp_path / "parser")
    stub = usage_pb2_grpc.UsageServiceStub(channel_as(f"127.0.0.1:{stack.ports['usage']}", files_dir))
    metadata = (("x-request-id", t.request_id("denied")), ("x-account-id", account_id))
    try:
        stub.StartSync(usage_pb2.StartSyncRequest(account_id=account_id), metadata=metadata, timeout=10)
        raise AssertionError("parser was allowed to start a sync")
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    t.expect("denied", ("usage", "rpc.denied", "denied", "service:parser"))

    # --- exporting the audit log is itself audited ----------------------------------------------
    export = t.send("export", "GET", "/v1/audit-events/export", account, params={"format": "json"})
    assert export.status_code == 200, export.text
    t.expect("export", ("auth", "audit.export", "success", me))

    expected_total = sum(len(v) for v in t.expected.values())
    events = wait_for_events(
        t.http,
        stack,
        account,
        lambda evs: sum(1 for e in evs if e["request_id"] in t.expected) >= expected_total,
    )
    found = _by_request(events)
    for request_id, expected in t.expected.items():
        assert sorted(found.get(request_id, [])) == expected, request_id  # no more, no fewer

    for event in events:
        if event["request_id"] not in t.expected:
            continue
        if event["request_id"] == t.request_id("denied"):  # no gateway in between: no client IP
            assert event["ip"] is None and event["target"] == {
                "type": "rpc",
                "id": "/aicosts.usage.v1.UsageService/StartSync",
            }
            continue
        assert event["ip"] == "127.0.0.1", event
        assert event["user_agent"] == USER_AGENT, event

    reveal = next(
        e for e in events if e["action"] == "credential.reveal" and e["request_id"] == t.request_id("sync")
    )
    assert reveal["target"] == {"type": "credential", "id": credential_id}
    create = next(e for e in events if e["action"] == "credential.create")
    assert create["details"]["via"] == "gateway" and create["details"]["platform"] == "openai"
    assert tenant.api_key not in str(events)  # never a secret in the audit log
