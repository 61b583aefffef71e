"""The browser session's cookies and the CSRF rule for requests they authenticate.

Over HTTPS the names carry the `__Host-` prefix (the browser then insists on Secure, Path=/ and
no Domain, so no sibling host can plant or overwrite them); plain HTTP is allowed only on
loopback for development, where browsers refuse `__Host-` cookies, so the bare names are used.

CSRF: a cookie-authenticated write must send the `X-CSRF-Token` header equal to the CSRF cookie
(double submit: another site can neither read our cookie nor set a custom header on a form
post), and must not come from another site or port (Sec-Fetch-Site / Origin)."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Response, request

from gateway.problems import Problem

ACCESS = "aicosts_session"
REFRESH = "aicosts_refresh"
CSRF = "aicosts_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _name(base: str) -> str:
    return f"__Host-{base}" if request.is_secure else base


def access_token() -> str:
    return request.cookies.get(_name(ACCESS), "")


def refresh_token() -> str:
    return request.cookies.get(_name(REFRESH), "")


def set_session(response: Response, access: str, refresh: str) -> None:
    """Session cookies (no Max-Age): the access token expires on its own within minutes and the
    refresh token is checked by auth, so the browser never holds more than the server allows."""
    secure = request.is_secure
    response.set_cookie(_name(ACCESS), access, httponly=True, secure=secure, samesite="Lax", path="/")
    response.set_cookie(_name(REFRESH), refresh, httponly=True, secure=secure, samesite="Strict", path="/")
    # Readable by our own script (it copies it into the header); a new value per sign-in.
    response.set_cookie(
        _name(CSRF), secrets.token_urlsafe(32), httponly=False, secure=secure, samesite="Strict", path="/"
    )


def clear_session(response: Response) -> None:
    for base in (ACCESS, REFRESH, CSRF):
        response.delete_cookie(_name(base), path="/", secure=request.is_secure, httponly=base != CSRF)


def _forbidden(detail: str) -> Problem:
    return Problem(403, detail, kind="csrf")


def check_same_origin() -> None:
    """Refuse a browser request sent by another site, or by another port of this host."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        raise _forbidden("this request came from another site; use the AICosts pages")
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if (parts.scheme, parts.netloc) != (request.scheme, request.host):
            raise _forbidden("this request came from another origin; use the AICosts pages")
    elif origin == "null":
        raise _forbidden("this request came from an opaque origin; use the AICosts pages")


def check_csrf() -> None:
    """For a cookie-authenticated request: writes need the CSRF header and a same-origin sender."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin()
    expected = request.cookies.get(_name(CSRF), "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise _forbidden(f"the {CSRF_HEADER} header is missing or wrong; reload the page and try again")
