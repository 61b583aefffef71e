"""The signed-in account's sessions (/v1/me/sessions*): list them and end them. The auth service
owns sessions and their rules; this maps HTTP to its RPCs. The account and the caller's session
come from the verified access token, never from the request."""

from __future__ import annotations

from typing import Any

from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, g, jsonify
from pydantic import Field

from gateway.answers import Answer, Timestamp
from gateway.api.auth_support import call_auth
from gateway.authn import require_account
from gateway.jsonfmt import timestamp
from gateway.openapi import json_body, problem

bp = Blueprint("sessions", __name__)


class Session(Answer):
    id: str
    created_at: Timestamp = Field(description="When this sign-in happened")
    last_used_at: Timestamp | None = Field(
        description="The session's last token refresh (an active client refreshes every 10 minutes); null "
        "before the first one"
    )
    expires_at: Timestamp = Field(description="When the session ends unless ended before")
    user_agent: str = Field(description="The client's User-Agent at sign-in")
    client_ip: str = Field(description="The client's address at sign-in")
    current: bool = Field(description="This is the caller's own session")


class SessionList(Answer):
    sessions: list[Session] = Field(max_length=200, description="Live sessions, newest first")


class SessionsEnded(Answer):
    ended: int = Field(ge=0)


def session_json(session: auth_pb2.Session) -> dict[str, Any]:
    return Session(
        id=session.id,
        created_at=timestamp(session, "created_at"),
        last_used_at=timestamp(session, "last_used_at"),
        expires_at=timestamp(session, "expires_at"),
        user_agent=session.user_agent,
        client_ip=session.client_ip,
        current=session.current,
    ).dump()


@bp.get("/v1/me/sessions")
@require_account
def list_sessions():
    request = auth_pb2.ListSessionsRequest(account_id=g.account_id, session_id=g.claims.session_id)
    reply = call_auth("ListSessions", request)
    return jsonify(SessionList(sessions=[session_json(s) for s in reply.sessions]).dump())


@bp.delete("/v1/me/sessions/<session_id>")
@require_account
def end_session(session_id: str):
    request = auth_pb2.EndSessionRequest(
        account_id=g.account_id, session_id=g.claims.session_id, target_session_id=session_id
    )
    call_auth("EndSession", request)
    return "", 204


@bp.post("/v1/me/sessions/sign-out-others")
@require_account
def sign_out_others():
    request = auth_pb2.EndOtherSessionsRequest(account_id=g.account_id, session_id=g.claims.session_id)
    reply = call_auth("EndOtherSessions", request)
    return jsonify(SessionsEnded(ended=reply.ended).dump())


_NO_SUCH_SESSION = problem("No live session of this account has this id")

OPENAPI_PATHS = {
    "/v1/me/sessions": {
        "get": {
            "summary": "The account's live sessions (signed in, not ended, not expired), newest first; "
            "`current` marks the caller's own",
            "responses": {"200": json_body(SessionList)},
        },
    },
    "/v1/me/sessions/{session_id}": {
        "delete": {
            "summary": "End one of the account's sessions at once (its access and refresh tokens stop "
            "working); ending the caller's own session signs the caller out",
            "responses": {"204": {"description": "Ended"}, "404": _NO_SUCH_SESSION},
        },
    },
    "/v1/me/sessions/sign-out-others": {
        "post": {
            "summary": "End every session of the account except the caller's; how many ended",
            "responses": {"200": json_body(SessionsEnded)},
        },
    },
}
