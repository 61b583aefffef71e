"""The owner's view of an account's sessions (auth/sessions.py, auth/store/sessions.py) against a
real database: which sessions count as live, their order and what each shows, ending one (only
a live session of the same account, alike NOT_FOUND otherwise), ending all the others, and the
audit event each ending writes. The gRPC boundary is in tests/integration/test_auth_sessions_list.py."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from auth import sessions
from auth.core import Core, to_utc
from auth.service import session_message
from auth.store import Stores
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.database import Database
from svccommon import context
from svccommon.audit import AuditLog
from svccommon.errors import InvalidArgument, NotFound

T0 = 1_800_000_000.0
SESSION_TTL_S = 30 * 86400


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def core(db: Database, clock: Clock) -> Core:
    stores = Stores.of(db)
    stores.ensure_indexes()
    unused: Any = None  # hasher, limiter, mail and keyvault play no part in these use cases
    return Core(
        stores=stores,
        hasher=unused,
        limiter=unused,
        mail=unused,
        box=unused,
        audit=AuditLog(db, "auth"),
        signing_key=Ed25519PrivateKey.generate(),
        access_ttl_s=600,
        session_ttl_s=SESSION_TTL_S,
        base_url="http://localhost",
        clock=clock,
    )


def new_account(db: Database) -> str:
    account_id = uuid.uuid4().hex
    db["accounts"].insert_one(
        {"_id": account_id, "email_key": f"{account_id}@example.com", "token_version": 0}
    )
    return account_id


def sign_in(core: Core, clock: Clock, account_id: str, agent: str, ip: str = "198.51.100.7") -> str:
    """A session started at the clock's time (then a second passes); its id."""
    account = core.stores.accounts.get(account_id)
    with context.bound(context.RequestContext(client_ip=ip, user_agent=agent)):
        tokens = sessions.start_session(core, account, "password")
    clock.t += 1
    record = core.stores.sessions.find_refresh_token(sessions.hash_token(tokens.refresh_token))
    return record["session_id"]


def listed(core: Core, account_id: str) -> list[str]:
    return [s["_id"] for s in sessions.list_sessions(core, account_id)]


def end_events(db: Database, account_id: str) -> dict[str, dict]:
    """The account's session.end events by the session each ended."""
    events = db["audit_events"].find({"action": "session.end", "account_id": account_id})
    return {e["target"]["id"]: e for e in events if e["target"]["type"] == "session"}


def test_live_sessions_newest_first_with_agent_address_and_times(
    core: Core, clock: Clock, db: Database
) -> None:
    me = new_account(db)
    first = sign_in(core, clock, me, "Firefox/130", "203.0.113.9")
    second = sign_in(core, clock, me, "curl/8.5")
    assert listed(core, me) == [second, first]

    doc = sessions.list_sessions(core, me)[1]
    message = session_message(doc, caller_session_id=second)
    assert (message.id, message.user_agent, message.client_ip, message.current) == (
        first,
        "Firefox/130",
        "203.0.113.9",
        False,
    )
    assert message.created_at.ToDatetime(dt.UTC) == to_utc(T0)
    assert message.expires_at.ToDatetime(dt.UTC) == to_utc(T0 + SESSION_TTL_S)
    assert not message.HasField("last_used_at")
    assert session_message(sessions.list_sessions(core, me)[0], caller_session_id=second).current


def test_a_refresh_sets_last_used_at(core: Core, clock: Clock, db: Database) -> None:
    me = new_account(db)
    account = core.stores.accounts.get(me)
    with context.bound(context.RequestContext(user_agent="app/1")):
        tokens = sessions.start_session(core, account, "password")
    clock.t += 300
    sessions.refresh(core, tokens.refresh_token)
    [doc] = sessions.list_sessions(core, me)
    assert session_message(doc, "").last_used_at.ToDatetime(dt.UTC) == to_utc(T0 + 300)


def test_the_agent_and_address_are_bounded_and_may_be_missing(core: Core, clock: Clock, db: Database) -> None:
    me = new_account(db)
    sign_in(core, clock, me, "x" * 2000, "a" * 100)
    sign_in(core, clock, me, "", "")
    newest, oldest = sessions.list_sessions(core, me)
    assert (len(oldest["user_agent"]), len(oldest["ip"])) == (sessions.MAX_USER_AGENT, sessions.MAX_CLIENT_IP)
    message = session_message(newest, "")
    assert (message.user_agent, message.client_ip) == ("", "")


def test_ended_expired_and_old_version_sessions_are_not_listed(
    core: Core, clock: Clock, db: Database
) -> None:
    me = new_account(db)
    logged_out = sign_in(core, clock, me, "a")
    assert core.stores.sessions.revoke(logged_out, core.utcnow(), "logout")
    expiring = sign_in(core, clock, me, "b")
    clock.t += 10
    live = sign_in(core, clock, me, "c")
    db["sessions"].update_one({"_id": expiring}, {"$set": {"expires_at": core.utcnow()}})
    assert listed(core, me) == [live]

    sessions.logout_all(core, me)  # a new token version: every earlier session is over
    assert listed(core, me) == []
    assert listed(core, "") == [] and listed(core, uuid.uuid4().hex) == []


def test_the_list_is_bounded(core: Core, clock: Clock, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    me = new_account(db)
    ids = [sign_in(core, clock, me, f"agent-{i}") for i in range(4)]
    monkeypatch.setattr(sessions, "MAX_LISTED_SESSIONS", 3)
    assert listed(core, me) == ids[::-1][:3]


def test_ending_a_session_revokes_it_at_once_and_is_audited(core: Core, clock: Clock, db: Database) -> None:
    me = new_account(db)
    mine = sign_in(core, clock, me, "mine")
    other = sign_in(core, clock, me, "other")
    sessions.end_session(core, me, other, caller_session_id=mine)
    assert listed(core, me) == [mine]
    assert not sessions.check_session(core, me, other, 0)
    assert sessions.check_session(core, me, mine, 0)
    [event] = end_events(db, me).values()
    assert event["target"] == {"type": "session", "id": other}
    assert (event["outcome"], event["actor"], event["service"]) == ("success", f"account:{me}", "auth")
    assert event["details"] == {"reason": "ended", "own": False}

    sessions.end_session(core, me, mine, caller_session_id=mine)  # signing oneself out is allowed
    assert listed(core, me) == [] and not sessions.check_session(core, me, mine, 0)
    assert end_events(db, me)[mine]["details"] == {"reason": "ended", "own": True}


def test_ending_anything_but_a_live_session_of_the_account_is_not_found(
    core: Core, clock: Clock, db: Database
) -> None:
    me, stranger = new_account(db), new_account(db)
    mine = sign_in(core, clock, me, "mine")
    theirs = sign_in(core, clock, stranger, "theirs")
    ended = sign_in(core, clock, me, "ended")
    sessions.end_session(core, me, ended, mine)
    expired = sign_in(core, clock, me, "expired")
    db["sessions"].update_one({"_id": expired}, {"$set": {"expires_at": core.utcnow()}})

    for bad in (theirs, ended, expired, uuid.uuid4().hex, "", "x" * 32, "../" + mine, mine.upper()):
        with pytest.raises(NotFound) as caught:
            sessions.end_session(core, me, bad, mine)
        assert caught.value.message == sessions.NO_SUCH_SESSION  # the same answer for each
    with pytest.raises(NotFound):
        sessions.end_session(core, uuid.uuid4().hex, mine, mine)  # an account that does not exist
    assert sessions.check_session(core, stranger, theirs, 0)
    assert listed(core, stranger) == [theirs]
    assert list(end_events(db, me)) == [ended]
    assert end_events(db, stranger) == {}


def test_ending_the_other_sessions_keeps_the_callers_and_counts(
    core: Core, clock: Clock, db: Database
) -> None:
    me, stranger = new_account(db), new_account(db)
    others = [sign_in(core, clock, me, f"other-{i}") for i in range(3)]
    mine = sign_in(core, clock, me, "mine")
    theirs = sign_in(core, clock, stranger, "theirs")
    already = others.pop()
    sessions.end_session(core, me, already, mine)

    assert sessions.end_other_sessions(core, me, mine) == 2
    assert listed(core, me) == [mine] and listed(core, stranger) == [theirs]
    assert all(not sessions.check_session(core, me, s, 0) for s in others)
    events = end_events(db, me)
    assert sorted(events) == sorted([already, *others])
    assert all(events[s]["details"] == {"reason": "sign_out_others", "own": False} for s in others)

    assert sessions.end_other_sessions(core, me, mine) == 0  # nothing left to end
    assert sessions.end_other_sessions(core, uuid.uuid4().hex, mine) == 0
    with pytest.raises(InvalidArgument):
        sessions.end_other_sessions(core, me, "")


def test_only_the_gateway_may_call_the_session_list_methods() -> None:
    from auth.server import SERVICE, allowlist

    rules = allowlist()
    for method in ("ListSessions", "EndSession", "EndOtherSessions"):
        assert rules[f"/{SERVICE}/{method}"] == ("gateway",)
