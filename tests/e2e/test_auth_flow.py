"""The whole account life cycle as a person lives it, through the gateway of the session stack:
signup → verify via the outbox link → login → enable 2FA → logout → login needs a code → a backup
code works once → password reset with a code → old sessions dead. Every secret handed out on the
way is then looked for in every captured log line and every other response: none may appear."""

from __future__ import annotations

import requests
from support import outbox
from support.accounts import auth_db, fresh_step, strong_password, totp_code, unique_email


class RecordingSession(requests.Session):
    """Keeps every response, to check which ones carried which secret."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: list[tuple[str, str]] = []
        self.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args, **kwargs) -> None:
        self.responses.append((f"{response.request.method} {response.request.path_url}", response.text))


def test_account_life_cycle_and_no_secret_leaks(stack, mongo_uri):
    base = stack.base_url
    http = RecordingSession()
    secrets: dict[str, tuple[str, ...]] = {}  # secret → the responses allowed to contain it
    email, password, name = unique_email("flow"), strong_password(), "Flow Tester"

    # Signup, then the verification link from the outbox.
    signed_up = http.post(f"{base}/v1/auth/signup", json={"email": email, "password": password, "name": name})
    assert signed_up.status_code == 202 and signed_up.json()["status"] == "accepted"
    mail = outbox.latest(stack, email, "confirm your email")
    verify_token = mail.token()
    secrets[verify_token] = ()
    verified = http.post(f"{base}/v1/auth/verify-email", json={"token": verify_token})
    assert verified.status_code == 200 and verified.json()["account"]["email_verified"] is True
    account_id = verified.json()["account"]["id"]

    # Sign in.
    first = http.post(f"{base}/v1/auth/login", json={"email": email, "password": password}).json()
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    secrets[first["access_token"]] = secrets[first["refresh_token"]] = ("POST /v1/auth/login",)

    # Turn 2FA on: confirm with the previous step's code, keep the current and next for later.
    step = fresh_step()
    setup = http.post(f"{base}/v1/me/2fa/setup", json={"password": password}, headers=auth).json()
    secrets[setup["secret"]] = ("POST /v1/me/2fa/setup",)
    confirm = http.post(
        f"{base}/v1/me/2fa/confirm",
        json={"password": password, "code": totp_code(setup["secret"], step - 1)},
        headers=auth,
    )
    assert confirm.status_code == 200
    backup_codes = confirm.json()["backup_codes"]
    for code in backup_codes:
        secrets[code] = secrets[code.replace("-", "")] = ("POST /v1/me/2fa/confirm",)
    assert http.get(f"{base}/v1/me", headers=auth).json()["account"]["totp_enabled"] is True

    # Log out: the access token dies with the session.
    logout = http.post(f"{base}/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert logout.status_code == 204
    assert http.get(f"{base}/v1/me", headers=auth).status_code == 401

    # Signing in now needs a code.
    challenge = http.post(f"{base}/v1/auth/login", json={"email": email, "password": password}).json()
    assert challenge["mfa_required"] is True and "access_token" not in challenge
    secrets[challenge["mfa_token"]] = ("POST /v1/auth/login",)
    totp_session = http.post(
        f"{base}/v1/auth/login/mfa",
        json={"mfa_token": challenge["mfa_token"], "code": totp_code(setup["secret"], step)},
    ).json()
    secrets[totp_session["access_token"]] = secrets[totp_session["refresh_token"]] = (
        "POST /v1/auth/login/mfa",
    )

    # A backup code works once.
    backup_sessions = []
    for expected in (200, 401):
        challenge = http.post(f"{base}/v1/auth/login", json={"email": email, "password": password}).json()
        secrets[challenge["mfa_token"]] = ("POST /v1/auth/login",)
        answer = http.post(
            f"{base}/v1/auth/login/mfa", json={"mfa_token": challenge["mfa_token"], "code": backup_codes[0]}
        )
        assert answer.status_code == expected
        if expected == 200:
            backup_sessions.append(answer.json())
            secrets[answer.json()["access_token"]] = secrets[answer.json()["refresh_token"]] = (
                "POST /v1/auth/login/mfa",
            )

    # Password reset with a code: every earlier session ends.
    assert http.post(f"{base}/v1/auth/password-reset", json={"email": email}).status_code == 202
    reset_token = outbox.latest(stack, email, "reset your").token()
    secrets[reset_token] = ()
    new_password = strong_password()
    no_code = http.post(
        f"{base}/v1/auth/password-reset/confirm", json={"token": reset_token, "new_password": new_password}
    )
    assert no_code.status_code == 400
    reset = http.post(
        f"{base}/v1/auth/password-reset/confirm",
        json={
            "token": reset_token,
            "new_password": new_password,
            "code": totp_code(setup["secret"], step + 1),
        },
    )
    assert reset.status_code == 204
    for session in (totp_session, *backup_sessions):
        bearer = {"Authorization": f"Bearer {session['access_token']}"}
        assert http.get(f"{base}/v1/me", headers=bearer).status_code == 401
        refreshed = http.post(f"{base}/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert refreshed.status_code == 401
    assert http.post(f"{base}/v1/auth/login", json={"email": email, "password": password}).status_code == 401
    after = http.post(f"{base}/v1/auth/login", json={"email": email, "password": new_password}).json()
    assert after["mfa_required"] is True
    secrets[after["mfa_token"]] = ("POST /v1/auth/login",)
    secrets[password] = secrets[new_password] = ()

    # Canary: no secret in any log line, in the audit trail, or in any other response.
    logs = stack.log_text()
    leaked = [s[:8] for s in secrets if s in logs]
    assert leaked == [], f"secrets in the logs (first characters shown): {leaked}"
    with auth_db(mongo_uri) as db:
        events = list(db.audit_events.find({"account_id": account_id}, {"_id": 0}))
        audit = str(list(db.audit_events.find({}, {"_id": 0})))
    assert [s[:8] for s in secrets if s in audit] == []

    # The audit trail of this life cycle: every security event, with the full schema.
    seen = {(e["action"], e["outcome"]) for e in events}
    assert seen >= {
        ("account.signup", "success"),
        ("account.email_verified", "success"),
        ("session.login", "success"),
        ("session.login", "failure"),
        ("mfa.enabled", "success"),
        ("session.logout", "success"),
        ("session.mfa_challenge", "success"),
        ("session.mfa_challenge", "failure"),
        ("mfa.backup_code_used", "success"),
        ("password.reset_requested", "success"),
        ("password.reset", "success"),
    }, seen
    for event in events:
        assert event["actor"] and event["target"]["type"] and event["at"], event
        assert event["ip"] == "127.0.0.1" and event["request_id"], event
        assert event["user_agent"].startswith("python-requests"), event
    for secret, allowed in secrets.items():
        carriers = [where for where, text in http.responses if secret in text]
        assert len(carriers) <= 1 and set(carriers) <= set(allowed), (secret[:8], carriers)
    http.close()
