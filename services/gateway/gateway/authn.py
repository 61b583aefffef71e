"""Authentication for API routes (a bearer token, or the web app's session cookie): the access
JWT is verified with the public key only (EdDSA pinned; iss, aud, exp, nbf, iat, typ and sub
checked), then the auth service confirms its session is still live (not logged out,
token_version current)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from aicosts.auth.v1 import auth_pb2
from flask import current_app, g, request
from svccommon import context
from svccommon.access_tokens import Claims, InvalidToken, load_public_key, verify_access_token

from gateway.problems import Problem
from gateway.web import cookies

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="aicosts"'}
SESSION_CHECK_TIMEOUT_S = 2.0


def auth_rpc(method: str, message: Any, timeout: float | None = None) -> Any:
    """Call the auth service with the house rules (deadline, request context). wait_for_ready: a
    channel still connecting or backing off (auth just started or restarted) is waited for within
    the deadline instead of failing the call at once with a spurious 503."""
    return current_app.extensions["backends"]["auth"].call(method, message, timeout=timeout)


class SessionCheck:
    """Asks auth's CheckSession for every request, so a logged-out token fails at once (in every
    worker). Only "ended" answers are cached, until the token would expire anyway: an ended session
    never comes back and token versions only grow, so that cache can never wrongly admit anyone."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._ended: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def _known_ended(self, key: tuple[str, str, int]) -> bool:
        with self._lock:
            expires = self._ended.get(key)
            if expires is not None and expires <= time.time():
                del self._ended[key]
                return False
            return expires is not None

    def _remember(self, key: tuple[str, str, int], expires: int) -> None:
        with self._lock:
            if len(self._ended) >= self.MAX_ENTRIES:
                self._ended.pop(next(iter(self._ended)))  # the oldest entry
            self._ended[key] = expires

    def __call__(self, claims: Claims) -> bool:
        key = (claims.account_id, claims.session_id, claims.token_version)
        if self._known_ended(key):
            return False
        message = auth_pb2.CheckSessionRequest(
            account_id=claims.account_id, session_id=claims.session_id, token_version=claims.token_version
        )
        # Fails closed: if auth cannot answer, the gRPC error becomes a 503, never an admission.
        reply = auth_rpc("CheckSession", message, timeout=SESSION_CHECK_TIMEOUT_S)
        if not reply.active:
            self._remember(key, claims.exp)
        return reply.active


def init_app(app) -> None:
    cfg = app.config["AICOSTS"]
    app.extensions["jwt_public_key"] = load_public_key(cfg.jwt_public_key_file.read_bytes())
    app.extensions.setdefault("session_checks", []).append(SessionCheck())


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, kind="unauthenticated", headers=_CHALLENGE)


def _presented_token() -> str:
    """The bearer token, or else the browser session cookie; a cookie-authenticated write must
    also pass the CSRF check (web/cookies.py). API clients never send cookies, so never need it."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("send an access token as 'Authorization: Bearer <token>'")
        return token.strip()
    cookie = cookies.access_token()
    if cookie:
        cookies.check_csrf()
        return cookie
    raise _unauthorized("send an access token as 'Authorization: Bearer <token>', or sign in")


def authenticate() -> Claims:
    token = _presented_token()
    try:
        claims = verify_access_token(current_app.extensions["jwt_public_key"], token)
    except InvalidToken:
        raise _unauthorized("the access token is invalid or expired") from None
    for check in current_app.extensions.get("session_checks", ()):
        if not check(claims):
            raise _unauthorized("the session has ended; log in again")
    g.claims = claims
    g.account_id = claims.account_id
    context.set_account(claims.account_id)
    return claims


def require_account(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the view runs only for a valid access token; g.account_id is the caller."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate()
        return view(*args, **kwargs)

    wrapper.requires_auth = True  # type: ignore[attr-defined]  # a mark openapi.build reads
    return wrapper
