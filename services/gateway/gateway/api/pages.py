"""The two pages the emails link to, so a person can finish in a browser: confirm an email
address, and choose a new password. Plain HTML forms (no script), posting back to the same
path; the token travels in the form, never in a log line. The JSON API does the same work at
/v1/auth/verify-email and /v1/auth/password-reset/confirm."""

from __future__ import annotations

from html import escape

import grpc
from aicosts.auth.v1 import auth_pb2
from flask import Blueprint, Response, request
from pydantic import BaseModel, Field
from svccommon import context

from gateway.api.auth_support import call_auth
from gateway.errors import problem_from_grpc
from gateway.openapi import raw_body
from gateway.problems import Problem

bp = Blueprint("pages", __name__)

# Forms post to this origin only; the app's stylesheet and images from this origin; no scripts
# or frames of any kind.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SIGN_IN_LINK = '<p class=row><a class="button primary" href="/signin">Sign in</a></p>'


def _asset_root() -> str:
    from gateway.web import shell  # imported here: the web package imports the API modules

    return shell.ASSET_ROOT


def _page(title: str, body: str, status: int = 200) -> Response:
    assets = _asset_root()
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        "<meta name=color-scheme content=light>"
        f"<title>{escape(title)} · AICosts</title>"
        f'<link rel=icon href="{assets}/img/favicon.svg" type="image/svg+xml">'
        f'<link rel=stylesheet href="{assets}/css/app.css">'
        f'<link rel=stylesheet href="{assets}/css/account.css">'
        "</head><body>"
        '<header class=topbar><div class=topbar-inner><a class=brand href="/">'
        f'<img src="{assets}/img/favicon.svg" alt="">AICosts</a></div></header>'
        "<main id=main><div class=narrow><section class=card>"
        f"<h1>{escape(title)}</h1>{body}</section></div></main></body></html>"
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _alert(kind: str, text: str, request_id: bool = False) -> str:
    role = "alert" if kind == "error" else "status"
    rid = context.current().request_id if request_id else ""
    tail = f"<span class=request-id>Request ID: {escape(rid)}</span>" if rid else ""
    return f'<div class="alert {kind}" role={role}>{escape(text)}{tail}</div>'


def _token_field() -> str:
    token = request.values.get("token", "")[:200]
    return f'<input type=hidden name=token value="{escape(token)}">'


def _refusal(exc: Problem | grpc.RpcError) -> tuple[int, str, str]:
    """(HTTP status, text a person may read, the field it is about or "")."""
    problem = exc if isinstance(exc, Problem) else problem_from_grpc(exc)
    if problem.status == 503:
        return 503, "The service is busy. Try again in a minute.", ""
    if problem.status == 500:  # backends put user-safe text only in the details of 4xx-class codes
        return 500, "Something went wrong on our side. Try again, or quote the request ID to support.", ""
    field = (problem.errors or [{}])[0].get("field", "")
    said = isinstance(exc, Problem) or (exc.details() if hasattr(exc, "details") else "")
    return problem.status, problem.detail if said else "This link cannot be used.", field


def _failure(title: str, exc: Problem | grpc.RpcError, next_step: str) -> Response:
    status, text, _ = _refusal(exc)
    return _page(title, _alert("error", text, request_id=True) + next_step, status)


@bp.get("/verify-email")
def verify_email_form():
    return _page(
        "Confirm your email address",
        "<p>Press the button to confirm that this email address is yours. The link works once.</p>"
        f"<form method=post>{_token_field()}"
        "<button type=submit class=primary>Confirm my email address</button></form>",
    )


@bp.post("/verify-email")
def verify_email_submit():
    try:
        call_auth("VerifyEmail", auth_pb2.VerifyEmailRequest(token=request.form.get("token", "")[:200]))
    except (Problem, grpc.RpcError) as exc:
        return _failure(
            "Email not confirmed",
            exc,
            "<p>If your address is already confirmed, just sign in. Otherwise sign in and send a new "
            "link from <strong>Settings → Profile</strong>.</p>" + SIGN_IN_LINK,
        )
    return _page(
        "Email confirmed",
        _alert("ok", "Thank you: your email address is confirmed.")
        + "<p>You can now sign in.</p>"
        + SIGN_IN_LINK,
    )


def _reset_form(error: str = "", field: str = "") -> str:
    def described(name: str) -> str:
        if field == name and error:
            return f' aria-invalid=true aria-describedby="{name}-error"'
        return f' aria-describedby="{name}-hint"'

    def field_error(name: str) -> str:
        if field != name or not error:
            return ""
        return f"<div class=field-error id={name}-error>{escape(error)}</div>"

    return (
        (_alert("error", error, request_id=True) if error and field not in ("new_password", "code") else "")
        + "<form method=post>"
        f"{_token_field()}"
        "<div class=field><label for=new_password>New password</label>"
        "<input type=password id=new_password name=new_password autocomplete=new-password "
        f"minlength=8 required{described('new_password')}>"
        "<div class=hint id=new_password-hint>At least 8 characters; common passwords are refused.</div>"
        f"{field_error('new_password')}</div>"
        "<div class=field><label for=code>Authenticator or backup code</label>"
        f"<input id=code name=code autocomplete=one-time-code{described('code')}>"
        "<div class=hint id=code-hint>Only if two-factor sign-in is on for your account.</div>"
        f"{field_error('code')}</div>"
        "<button type=submit class=primary>Set the new password</button></form>"
    )


@bp.get("/reset-password")
def reset_password_form():
    return _page("Choose a new password", _reset_form())


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
        status, text, field = _refusal(exc)
        if field in ("new_password", "code"):  # the link still works: the form again, at the field
            return _page("Choose a new password", _reset_form(text, field), status)
        return _failure(
            "Password not changed",
            exc,
            '<p><a href="/forgot-password">Ask for a new link</a> if this one has expired or was used.</p>',
        )
    return _page(
        "Password changed",
        _alert("ok", "Your new password is set and every other session has ended.") + SIGN_IN_LINK,
    )


class VerifyEmailForm(BaseModel):
    """The confirmation page's form (read by the view, field by field: a missing one is empty)."""

    token: str = Field(default="", description="The token from the emailed link")


class ResetPasswordForm(BaseModel):
    """The new-password page's form (read by the view, field by field: a missing one is empty)."""

    token: str = Field(default="", description="The token from the emailed link")
    new_password: str = ""
    code: str = Field(default="", description="A 2FA or backup code, when 2FA is on")


_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}

OPENAPI_PATHS = {
    "/verify-email": {
        "get": {
            "summary": "Page the verification email links to",
            "responses": {"200": {"description": "OK", **_HTML}},
        },
        "post": {
            "summary": "Confirm the email address (form post from that page)",
            "requestBody": raw_body(VerifyEmailForm),
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
            "requestBody": raw_body(ResetPasswordForm),
            "responses": {
                "200": {"description": "Changed", **_HTML},
                "400": {"description": "Refused", **_HTML},
            },
        },
    },
}
