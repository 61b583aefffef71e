"""The two pages the emails link to, so a person can finish in a browser: confirm an email
address, and choose a new password. Plain HTML forms (no script), posting back to the same
path; the token travels in the form, never in a log line. The JSON API does the same work at
/v1/auth/verify-email and /v1/auth/password-reset/confirm."""

from __future__ import annotations

from html import escape

import grpc
from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, Response, request

from gateway.api.auth_support import call_auth
from gateway.problems import Problem

bp = Blueprint("pages", __name__)

# Forms post to this origin only; no scripts, styles or frames of any kind.
PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · AICosts</title></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _token_field() -> str:
    token = request.values.get("token", "")[:200]
    return f'<input type=hidden name=token value="{escape(token)}">'


def _failure(title: str, exc: Exception) -> Response:
    if isinstance(exc, Problem):
        return _page(title, f"<p>{escape(exc.detail)}</p>", exc.status)
    code = exc.code() if isinstance(exc, grpc.RpcError) and hasattr(exc, "code") else None
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return _page(title, "<p>The service is busy. Try again in a minute.</p>", 503)
    detail = exc.details() if isinstance(exc, grpc.RpcError) and hasattr(exc, "details") else ""
    return _page(title, f"<p>{escape(detail or 'This link cannot be used.')}</p>", 400)


@bp.get("/verify-email")
def verify_email_form():
    return _page(
        "Confirm your email address",
        f"<form method=post>{_token_field()}<button type=submit>Confirm my email address</button></form>",
    )


@bp.post("/verify-email")
def verify_email_submit():
    try:
        call_auth("VerifyEmail", auth_pb2.VerifyEmailRequest(token=request.form.get("token", "")[:200]))
    except (Problem, grpc.RpcError) as exc:
        return _failure("Email not confirmed", exc)
    return _page("Email confirmed", "<p>Thank you. You can close this page and sign in.</p>")


@bp.get("/reset-password")
def reset_password_form():
    return _page(
        "Choose a new password",
        "<form method=post>"
        f"{_token_field()}"
        "<p><label>New password <input type=password name=new_password autocomplete=new-password "
        "minlength=8 required></label></p>"
        "<p><label>Authenticator or backup code (only if two-factor sign-in is on) "
        "<input name=code autocomplete=one-time-code></label></p>"
        "<button type=submit>Set the new password</button></form>",
    )


@bp.post("/reset-password")
def reset_password_submit():
    message = auth_pb2.ConfirmPasswordResetRequest(
        token=request.form.get("token", "")[:200],
        new_password=request.form.get("new_password", "")[:1024],
        code=request.form.get("code", "").strip()[:64],
    )
    try:
        call_auth("ConfirmPasswordReset", message)
    except (Problem, grpc.RpcError) as exc:
        return _failure("Password not changed", exc)
    return _page("Password changed", "<p>Your new password is set and every other session has ended.</p>")


_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
_FORM = {
    "required": True,
    "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
}

OPENAPI_PATHS = {
    "/verify-email": {
        "get": {
            "summary": "Page the verification email links to",
            "responses": {"200": {"description": "OK", **_HTML}},
        },
        "post": {
            "summary": "Confirm the email address (form post from that page)",
            "requestBody": _FORM,
            "responses": {
                "200": {"description": "Confirmed", **_HTML},
                "400": {"description": "Bad link", **_HTML},
            },
        },
    },
    "/reset-password": {
        "get": {
            "summary": "Page the password-reset email links to",
            "responses": {"200": {"description": "OK", **_HTML}},
        },
        "post": {
            "summary": "Set the new password (form post from that page)",
            "requestBody": _FORM,
            "responses": {
                "200": {"description": "Changed", **_HTML},
                "400": {"description": "Refused", **_HTML},
            },
        },
    },
}
