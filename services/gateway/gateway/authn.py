"""Bearer-token authentication for API routes: the access JWT is verified with the public key
only (EdDSA pinned; iss, aud, exp, nbf, iat, typ and sub checked)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from svccommon import context
from svccommon.access_tokens import Claims, InvalidToken, load_public_key, verify_access_token

from gateway.problems import Problem

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="aicosts"'}


def init_app(app) -> None:
    cfg = app.config["AICOSTS"]
    app.extensions["jwt_public_key"] = load_public_key(cfg.jwt_public_key_file.read_bytes())


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, kind="unauthenticated", headers=_CHALLENGE)


def authenticate() -> Claims:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("send an access token as 'Authorization: Bearer <token>'")
    try:
        claims = verify_access_token(current_app.extensions["jwt_public_key"], token.strip())
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

    wrapper.requires_auth = True  # type: ignore[attr-defined]
    return wrapper
