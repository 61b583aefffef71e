"""svccommon.audit on the session database: the retention TTL index (and AUDIT_RETENTION_DAYS
changing it in place), the failure rule (required writes raise; others are retried in the
background, then logged as lost without details), pages in (at, id) order, no secrets kept."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError
from support.ports import free_ports
from svccommon import audit as audit_module
from svccommon import context
from svccommon.audit import TTL_INDEX, AuditLog
from svccommon.config import ConfigError, load_common
from svccommon.interceptors import AccessInterceptor
from testkit.vaults import OPENAI_KEY, make_vault

DAY_S = 86400
ACCOUNT = "c" * 32


@pytest.fixture()
def db(mongo_uri: str) -> Iterator[Database]:
    client: MongoClient = MongoClient(mongo_uri, tz_aware=True)
    database = client[f"audit_{uuid.uuid4().hex[:12]}"]
    try:
        yield database
    finally:
        client.drop_database(database.name)
        client.close()


@pytest.fixture()
def unreachable() -> Iterator[Database]:
    """A database nobody answers for (a closed local port, quick to give up)."""
    client: MongoClient = MongoClient(
        f"mongodb://127.0.0.1:{free_ports(1)[0]}/", serverSelectionTimeoutMS=100, tz_aware=True
    )
    try:
        yield client["nowhere"]
    finally:
        client.close()


def ttl_seconds(db: Database) -> int | None:
    return db["audit_events"].index_information()[TTL_INDEX].get("expireAfterSeconds")


def test_retention_is_a_ttl_index_on_at_and_follows_the_setting(db):
    AuditLog(db, "usage").ensure_indexes()
    info = db["audit_events"].index_information()[TTL_INDEX]
    assert info["key"] == [("at", 1)] and info["expireAfterSeconds"] == 365 * DAY_S
    AuditLog(db, "usage", retention_days=30).ensure_indexes()  # AUDIT_RETENTION_DAYS changed
    assert ttl_seconds(db) == 30 * DAY_S
    AuditLog(db, "usage", retention_days=30).ensure_indexes()  # unchanged: nothing to do
    assert ttl_seconds(db) == 30 * DAY_S
    assert len([n for n in db["audit_events"].index_information() if n == TTL_INDEX]) == 1


def test_retention_days_come_from_the_environment(tmp_path: Path):
    for name in ("ca.crt", "usage.crt", "usage.key"):
        (tmp_path / name).write_text("x")
    env = {"TLS_DIR": str(tmp_path)}
    assert load_common("usage", env).audit_retention_days == 365
    assert load_common("usage", {**env, "AUDIT_RETENTION_DAYS": "400"}).audit_retention_days == 400
    for bad in ("0", "a year", "4000"):
        with pytest.raises(ConfigError, match="AUDIT_RETENTION_DAYS"):
            load_common("usage", {**env, "AUDIT_RETENTION_DAYS": bad})


def test_event_shape_comes_from_the_request_context_and_keeps_no_secrets(db):
    log = AuditLog(db, "keyvault")
    ctx = context.RequestContext(
        request_id="req-1", account_id="acct-1", client_ip="198.51.100.4", user_agent="ua/1"
    )
    with context.bound(ctx):
        event = log.record(
            "credential.create",
            target_type="credential",
            target_id="c1",
            details={"platform": "openai", "api_key": "sk-secret", "Password": "hunter2"},
        )
    stored = db["audit_events"].find_one({"_id": event["_id"]})
    assert stored is not None
    assert {k: stored[k] for k in ("account_id", "actor", "ip", "user_agent", "request_id", "service")} == {
        "account_id": "acct-1",
        "actor": "account:acct-1",
        "ip": "198.51.100.4",
        "user_agent": "ua/1",
        "request_id": "req-1",
        "service": "keyvault",
    }
    assert stored["details"] == {"platform": "openai"} and stored["outcome"] == "success"
    assert stored["at"].microsecond % 1000 == 0  # what Mongo keeps, so cursors match exactly


def test_a_required_write_that_fails_fails_the_action(unreachable):
    with pytest.raises(PyMongoError):
        AuditLog(unreachable, "auth").record("session.login", account_id="a")


def test_other_writes_never_block_and_are_retried_then_logged_as_lost(unreachable, monkeypatch, caplog):
    monkeypatch.setattr(audit_module, "RETRY_BASE_S", 0.0)
    log = AuditLog(unreachable, "parser")
    with caplog.at_level(logging.ERROR, logger="svccommon.audit"):
        log.record(
            "upload.created",
            account_id="a",
            target_id="u1",
            details={"filename": "secret.csv"},
            required=False,
        )
        assert log.flush(30)
    failed = [r for r in caplog.records if r.getMessage() == "audit write failed"]
    lost = [r for r in caplog.records if r.getMessage() == "audit event lost"]
    assert len(failed) == audit_module.RETRIES + 1 and len(lost) == 1
    assert lost[0].action == "upload.created" and lost[0].target_id == "u1"
    assert "secret.csv" not in str(lost[0].__dict__)  # the event minus its details


def test_background_writes_land(db):
    log = AuditLog(db, "usage")
    event = log.record("sync.started", account_id="a", required=False)
    assert log.flush(10)
    assert db["audit_events"].find_one({"_id": event["_id"]})["action"] == "sync.started"


def test_pages_are_newest_first_by_time_then_id_and_resume_after_the_cursor(db):
    log = AuditLog(db, "auth")
    log.ensure_indexes()
    at = dt.datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    docs = [
        {
            "_id": f"{i:02d}",
            "account_id": "a",
            "action": "x.y",
            "outcome": "success",
            "at": at - dt.timedelta(milliseconds=i // 3),
        }
        for i in range(9)
    ]  # three events share each millisecond
    db["audit_events"].insert_many([*docs, {**docs[0], "_id": "other", "account_id": "b"}])
    expected = [d["_id"] for d in sorted(docs, key=lambda d: (d["at"], d["_id"]), reverse=True)]
    seen, after = [], None
    while True:
        page = log.page("a", after=after, limit=2)
        if not page:
            break
        seen += [d["_id"] for d in page]
        after = (page[-1]["at"], page[-1]["_id"])
    assert seen == expected
    middle = docs[4]["at"]
    assert [d["_id"] for d in log.page("a", since=middle, limit=50)] == [
        i for i in expected if docs[int(i)]["at"] >= middle
    ]
    assert [d["_id"] for d in log.page("a", until=middle, limit=50)] == [
        i for i in expected if docs[int(i)]["at"] < middle
    ]
    assert log.page("a", actions=["x"], limit=50) and not log.page("a", actions=["x.y.z"], limit=50)


def test_a_failing_denial_sink_never_changes_the_denial(caplog):
    def broken(method: str, caller: str) -> None:
        raise RuntimeError("audit down")

    interceptor = AccessInterceptor({}, "aicosts.local", allow_reflection=False, on_denied=[broken])
    with caplog.at_level(logging.ERROR):
        interceptor._tell_denied("/aicosts.usage.v1.UsageService/StartSync", "parser")
    assert any(r.getMessage() == "denial not audited" for r in caplog.records)


def test_no_credential_is_stored_or_deleted_without_its_audit_event(mongo_uri, tmp_path, unreachable):
    kv = make_vault(mongo_uri, tmp_path)
    kept = kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    kv.vault.audit = AuditLog(unreachable, "keyvault")  # the audit log stops answering
    with pytest.raises(PyMongoError):
        kv.vault.store_key("gateway", ACCOUNT, "openai", OPENAI_KEY, "")
    with pytest.raises(PyMongoError):
        kv.vault.delete("gateway", ACCOUNT, kept.id)
    assert [r.id for r in kv.store.list_for_account(ACCOUNT)] == [kept.id]
    kv.db.client.drop_database(kv.db.name)
