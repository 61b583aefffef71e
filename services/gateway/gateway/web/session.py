"""Sign-in, 2FA completion, refresh and sign-out for the browser: the same auth RPCs as
/v1/auth/*, but the tokens go into HttpOnly cookies (cookies.py) instead of the JSON body, so
no page script ever sees them. Each sign-in and each 2FA completion starts a new auth session,
so the session id (and every cookie) is new; sign-out ends the session in auth."""

from __future__ import annotations

import contextlib

import grpc
from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, Response, jsonify

from gateway.api.accounts import LoginBody, MfaLoginBody
from gateway.api.auth_support import call_auth
from gateway.bodies import json_object
from gateway.problems import Problem, problem_response
from gateway.web import cookies

bp = Blueprint("web_session", __name__)


def _signed_in(tokens: auth_pb2.TokenPair) -> Response:
    previous = cookies.refresh_token()
    response = jsonify(signed_in=True, expires_in=tokens.expires_in)
    cookies.set_session(response, tokens.access_token, tokens.refresh_token)
    if previous:
        _end_session(previous)  # a second sign-in in the same browser replaces the first
    return response


def _end_session(refresh_token: str) -> None:
    # Best effort: the new cookies replace it anyway, and it expires on its own.
    with contextlib.suppress(grpc.RpcError):
        call_auth("Logout", auth_pb2.LogoutRequest(refresh_token=refresh_token))


@bp.post("/web/session")
def sign_in():
    cookies.check_same_origin()  # no sign-in CSRF: another site cannot sign you into its account
    body = LoginBody.model_validate(json_object())
    reply = call_auth("Login", auth_pb2.LoginRequest(email=body.email, password=body.password))
    if reply.WhichOneof("result") == "mfa_token":
        # The short-lived 2FA ticket stays in the page's memory; no session exists yet.
        return jsonify(signed_in=False, mfa_required=True, mfa_token=reply.mfa_token)
    return _signed_in(reply.tokens)


@bp.post("/web/session/mfa")
def complete_mfa():
    cookies.check_same_origin()
    body = MfaLoginBody.model_validate(json_object())
    message = auth_pb2.CompleteMfaLoginRequest(mfa_token=body.mfa_token, code=body.code)
    reply = call_auth("CompleteMfaLogin", message)
    return _signed_in(reply.tokens)


@bp.post("/web/session/refresh")
def refresh():
    cookies.check_csrf()
    token = cookies.refresh_token()
    if not token:
        raise Problem(401, "you are signed out; sign in again", kind="unauthenticated")
    try:
        reply = call_auth("Refresh", auth_pb2.RefreshRequest(refresh_token=token))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
            raise
        ended = Problem(401, "your session has ended; sign in again", kind="unauthenticated")
        response = problem_response(ended)
        cookies.clear_session(response)
        return response
    response = jsonify(signed_in=True, expires_in=reply.tokens.expires_in)
    cookies.set_session(response, reply.tokens.access_token, reply.tokens.refresh_token)
    return response


@bp.post("/web/session/signout")
def sign_out():
    cookies.check_csrf()
    token = cookies.refresh_token()
    if token:
        call_auth("Logout", auth_pb2.LogoutRequest(refresh_token=token))
    response = Response(status=204)
    cookies.clear_session(response)
    # The browser drops anything it kept of the signed-in pages (back button shows nothing).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
