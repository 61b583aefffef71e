"""The settings page's sessions API through the gateway (docs/security.md: sessions): list the
account's live sessions, end one, end all the others. An ended session's access token is refused
at once and its refresh token no longer refreshes; another account's session id is answered like
an unknown one; every ending is audited with the session as its target."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests
from support.accounts import auth_db, login, new_account


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


@pytest.fixture(scope="module")
def shared_account(stack):
    """One account for the tests that must leave its session alive."""
    return new_account(stack)


def _session_id(access_token: str) -> str:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sign_in(stack, account, agent: str) -> dict:
    with requests.Session() as client:
        client.headers["User-Agent"] = agent
        return login(stack, account.email, account.password, http=client)


def _me(stack, http, token: str) -> int:
    return http.get(f"{stack.base_url}/v1/me", headers=_bearer(token)).status_code


def _refresh(stack, http, refresh_token: str) -> requests.Response:
    return http.post(f"{stack.base_url}/v1/auth/refresh", json={"refresh_token": refresh_token})


def _list(stack, http, token: str) -> list[dict]:
    response = http.get(f"{stack.base_url}/v1/me/sessions", headers=_bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["sessions"]


def _end(stack, http, token: str, session_id: str) -> requests.Response:
    return http.delete(f"{stack.base_url}/v1/me/sessions/{session_id}", headers=_bearer(token))


def _end_events(db, account_id: str) -> dict[str, dict]:
    events = db.audit_events.find({"action": "session.end", "account_id": account_id})
    return {e["target"]["id"]: e for e in events if e["target"]["type"] == "session"}


def test_two_sign_ins_are_listed_newest_first_with_the_callers_marked(stack, http):
    account = new_account(stack)
    laptop = _sign_in(stack, account, "Laptop-Browser/1.0")
    phone = _sign_in(stack, account, "Phone-App/2.3 (like Gecko)")
    sessions = _list(stack, http, phone["access_token"])
    # new_account's own sign-in (a python-requests client) is the oldest live session
    assert [s["id"] for s in sessions][:2] == [
        _session_id(phone["access_token"]),
        _session_id(laptop["access_token"]),
    ]
    assert len(sessions) == 3
    assert [s["user_agent"] for s in sessions][:2] == ["Phone-App/2.3 (like Gecko)", "Laptop-Browser/1.0"]
    assert [s["current"] for s in sessions] == [True, False, False]
    for s in sessions:
        assert set(s) == {
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "user_agent",
            "client_ip",
            "current",
        }
        assert s["client_ip"] == "127.0.0.1"
        assert s["created_at"].endswith("Z") and s["expires_at"] > s["created_at"]
        assert s["last_used_at"] is None  # none of them has refreshed yet

    # the other session sees the same list with itself marked
    assert [s["current"] for s in _list(stack, http, laptop["access_token"])] == [False, True, False]

    refreshed = _refresh(stack, http, laptop["refresh_token"])
    assert refreshed.status_code == 200
    [laptop_now] = [s for s in _list(stack, http, phone["access_token"]) if s["id"] == sessions[1]["id"]]
    assert laptop_now["last_used_at"] is not None and laptop_now["last_used_at"] >= laptop_now["created_at"]


def test_sign_out_others_ends_every_other_session_at_once(stack, http, db):
    account = new_account(stack)
    other = _sign_in(stack, account, "Other-Device/1")
    mine = _sign_in(stack, account, "This-Device/1")
    for _ in range(4):  # both gunicorn workers have seen the other token alive
        assert _me(stack, http, other["access_token"]) == 200

    response = http.post(
        f"{stack.base_url}/v1/me/sessions/sign-out-others", headers=_bearer(mine["access_token"])
    )
    assert response.status_code == 200 and response.json() == {"ended": 2}

    for _ in range(4):
        assert _me(stack, http, other["access_token"]) == 401
        assert _me(stack, http, account.access_token) == 401
    assert _refresh(stack, http, other["refresh_token"]).status_code == 401
    assert _refresh(stack, http, account.refresh_token).status_code == 401
    assert _me(stack, http, mine["access_token"]) == 200
    assert [s["id"] for s in _list(stack, http, mine["access_token"])] == [_session_id(mine["access_token"])]
    assert _refresh(stack, http, mine["refresh_token"]).status_code == 200  # the caller's still refreshes

    ended = {_session_id(other["access_token"]), _session_id(account.access_token)}
    events = _end_events(db, account.account_id)
    assert set(events) == ended
    for event in events.values():
        assert event["outcome"] == "success" and event["actor"] == f"account:{account.account_id}"
        assert event["details"] == {"reason": "sign_out_others", "own": False}
        assert event["ip"] == "127.0.0.1" and event["request_id"]

    again = http.post(
        f"{stack.base_url}/v1/me/sessions/sign-out-others", headers=_bearer(mine["access_token"])
    )
    assert again.json() == {"ended": 0}


def test_ending_one_other_session_of_ones_own(stack, http, db):
    account = new_account(stack)
    other = _sign_in(stack, account, "Other-Device/1")
    other_id = _session_id(other["access_token"])
    assert _me(stack, http, other["access_token"]) == 200

    assert _end(stack, http, account.access_token, other_id).status_code == 204
    assert _me(stack, http, other["access_token"]) == 401
    assert _refresh(stack, http, other["refresh_token"]).status_code == 401
    assert _me(stack, http, account.access_token) == 200
    assert [s["id"] for s in _list(stack, http, account.access_token)] == [_session_id(account.access_token)]
    event = _end_events(db, account.account_id)[other_id]
    assert event["details"] == {"reason": "ended", "own": False}

    again = _end(stack, http, account.access_token, other_id)  # already ended: no longer a live session
    assert again.status_code == 404


def test_ending_ones_own_session_signs_the_caller_out(stack, http, db):
    account = new_account(stack)
    mine = _session_id(account.access_token)
    assert _end(stack, http, account.access_token, mine).status_code == 204
    assert _me(stack, http, account.access_token) == 401
    assert _refresh(stack, http, account.refresh_token).status_code == 401
    assert _end_events(db, account.account_id)[mine]["details"] == {"reason": "ended", "own": True}


def test_another_accounts_session_is_not_found_and_keeps_working(stack, http, db):
    me, stranger = new_account(stack), new_account(stack)
    theirs = _session_id(stranger.access_token)
    unknown = _end(stack, http, me.access_token, uuid.uuid4().hex)
    response = _end(stack, http, me.access_token, theirs)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    # the same answer as for an id that never existed: nothing says the session exists
    assert {k: v for k, v in response.json().items() if k not in ("request_id", "instance")} == {
        k: v for k, v in unknown.json().items() if k not in ("request_id", "instance")
    }
    assert _me(stack, http, stranger.access_token) == 200
    assert _refresh(stack, http, stranger.refresh_token).status_code == 200
    assert _end_events(db, me.account_id) == {} and _end_events(db, stranger.account_id) == {}


@pytest.mark.parametrize(
    "bad",
    ["not-a-session", "0" * 32, "A" * 32, "x" * 300, "%24ne", "sign-out-others", "%00", "..%2f..%2fv1%2fme"],
)
def test_bad_ids_are_404_problems(stack, http, shared_account, bad):
    account = shared_account
    response = http.delete(f"{stack.base_url}/v1/me/sessions/{bad}", headers=account.headers)
    assert response.status_code == 404, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["request_id"]
    assert _me(stack, http, account.access_token) == 200


def test_the_sessions_api_needs_a_signed_in_caller(stack, http):
    base = f"{stack.base_url}/v1/me/sessions"
    for method, url in (
        ("GET", base),
        ("DELETE", f"{base}/{uuid.uuid4().hex}"),
        ("POST", f"{base}/sign-out-others"),
    ):
        response = http.request(method, url)
        assert response.status_code == 401 and response.headers["Content-Type"] == "application/problem+json"
