"""TOTP two-factor authentication through the gateway, with the TOTP seed encrypted by the real
keyvault (docs/security.md: two-factor sign-in; ASVS 2.8, 6.5)."""

from __future__ import annotations

import base64
import urllib.parse

import pytest
from support import outbox
from support.accounts import (
    auth_db,
    enable_2fa,
    fresh_step,
    login,
    new_account,
    totp_code,
)


@pytest.fixture(scope="module")
def db(mongo_uri):
    with auth_db(mongo_uri) as database:
        yield database


def _mfa(stack, http, mfa_token: str, code: str):
    return http.post(f"{stack.base_url}/v1/auth/login/mfa", json={"mfa_token": mfa_token, "code": code})


def _challenge(stack, account) -> str:
    first = login(stack, account.email, account.password)
    assert set(first) == {"mfa_required", "mfa_token"} and first["mfa_required"] is True
    return first["mfa_token"]


def _setup(stack, http, account):
    return http.post(
        f"{stack.base_url}/v1/me/2fa/setup", json={"password": account.password}, headers=account.headers
    )


def _confirm(stack, http, account, code: str):
    body = {"password": account.password, "code": code}
    return http.post(f"{stack.base_url}/v1/me/2fa/confirm", json=body, headers=account.headers)


def _wrong(*right: str) -> str:
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def test_setup_returns_secret_uri_and_svg_and_stores_only_ciphertext(stack, http, db):
    account = new_account(stack)
    response = _setup(stack, http, account)
    assert response.status_code == 200
    setup = response.json()
    assert set(setup) == {"secret", "otpauth_uri", "qr_svg"}
    assert len(base64.b32decode(setup["secret"])) == 20  # 160 bits
    uri = urllib.parse.urlparse(setup["otpauth_uri"])
    query = urllib.parse.parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert query["secret"] == [setup["secret"]] and query["issuer"] == ["AICosts"]
    assert setup["qr_svg"].startswith("<svg") and setup["qr_svg"].rstrip().endswith("</svg>")

    stored = db.accounts.find_one({"_id": account.account_id})["totp"]
    assert isinstance(stored["pending"], bytes)
    raw = base64.b32decode(setup["secret"])
    assert raw not in stored["pending"] and setup["secret"].encode() not in stored["pending"]
    assert (
        http.get(f"{stack.base_url}/v1/me", headers=account.headers).json()["account"]["totp_enabled"]
        is False
    )


def test_confirm_turns_2fa_on_and_returns_ten_backup_codes_once(stack, http, db):
    account = new_account(stack)
    other = login(stack, account.email, account.password)
    two = enable_2fa(stack, account, http)
    assert len(two.backup_codes) == 10 and len(set(two.backup_codes)) == 10
    me = http.get(f"{stack.base_url}/v1/me", headers=account.headers).json()["account"]
    assert me["totp_enabled"] is True
    stored = db.accounts.find_one({"_id": account.account_id})["totp"]
    assert stored["enabled"] is True and stored["pending"] is None
    # Checklist 14: the database holds bcrypt hashes only.
    assert all(h.startswith("$2b$") for h in stored["backup_codes"])
    assert not any(c.replace("-", "") in str(stored) for c in two.backup_codes)
    # A 2FA change ends the other sessions; this one stays.
    assert (
        http.get(
            f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"}
        ).status_code
        == 401
    )
    assert db.audit_events.find_one({"action": "mfa.enabled", "account_id": account.account_id})
    # Setting up again while on is refused.
    assert _setup(stack, http, account).status_code == 409


def test_confirm_with_a_wrong_code_is_400_and_2fa_stays_off(stack, http):
    account = new_account(stack)
    setup = _setup(stack, http, account).json()
    step = fresh_step()
    right = [totp_code(setup["secret"], step + i) for i in (-1, 0, 1)]
    response = _confirm(stack, http, account, _wrong(*right))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "code"
    for code in ("12345", "abcdef", "1234567"):
        assert _confirm(stack, http, account, code).status_code == 400
    assert (
        http.get(f"{stack.base_url}/v1/me", headers=account.headers).json()["account"]["totp_enabled"]
        is False
    )


def test_confirm_without_setup_is_422(stack, http):
    account = new_account(stack)
    response = _confirm(stack, http, account, "123456")
    assert response.status_code == 422 and "setup" in response.json()["detail"]


def test_login_needs_a_code_and_a_code_from_the_previous_step_works(stack, http):
    """Checklist 11 (through the gateway; frozen-clock ±2 rejection is in services/auth/tests)."""
    account = new_account(stack)
    two = enable_2fa(stack, account, http)  # confirmed with the code of step -1
    token = _challenge(stack, account)
    response = _mfa(stack, http, token, two.code(0))
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (
        http.get(
            f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        ).status_code
        == 200
    )


def test_a_code_two_steps_away_is_rejected(stack, http):
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    token = _challenge(stack, account)
    for offset in (-3, +3):
        assert _mfa(stack, http, token, two.code(offset)).status_code == 401


def test_same_code_twice_is_rejected_logged_and_the_user_is_told(stack, http, db):
    """Checklist 12."""
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    assert _mfa(stack, http, _challenge(stack, account), two.code(0)).status_code == 200
    again = _mfa(stack, http, _challenge(stack, account), two.code(0))
    assert again.status_code == 401
    assert again.json()["detail"] == "The code is incorrect or has already been used."
    assert db.audit_events.find_one(
        {"action": "mfa.totp_replay", "account_id": account.account_id, "outcome": "denied"}
    )
    mail = outbox.latest(stack, account.email, "sign-in code was tried again")
    assert "refused" in mail.text
    assert "totp code replay refused" in stack.log_text()
    # The confirm code (step -1) is spent as well.
    assert _mfa(stack, http, _challenge(stack, account), two.code(-1)).status_code == 401


def test_six_wrong_codes_lock_the_challenge(stack, http, db):
    """Checklist 13: after 5 wrong codes the challenge is locked; even the right code fails."""
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    token = _challenge(stack, account)
    wrong = _wrong(two.code(-1), two.code(0), two.code(1))
    details = [_mfa(stack, http, token, wrong).json()["detail"] for _ in range(6)]
    assert details[:4] == ["The code is incorrect or has already been used."] * 4
    assert all("locked" in d for d in details[4:])
    locked = _mfa(stack, http, token, two.code(0))
    assert locked.status_code == 401 and "locked" in locked.json()["detail"]
    assert db.audit_events.find_one(
        {
            "action": "session.mfa_challenge",
            "account_id": account.account_id,
            "outcome": "denied",
            "details.reason": "locked",
        }
    )
    # A new sign-in gets a new challenge, and the right code works there.
    assert _mfa(stack, http, _challenge(stack, account), two.code(0)).status_code == 200


def test_backup_code_works_once(stack, http, db):
    """Checklist 14."""
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    code = two.backup_codes[3]
    assert _mfa(stack, http, _challenge(stack, account), code.lower()).status_code == 200  # typed loosely
    assert _mfa(stack, http, _challenge(stack, account), code).status_code == 401
    stored = db.accounts.find_one({"_id": account.account_id})["totp"]["backup_codes"]
    assert stored[3] is None and sum(h is None for h in stored) == 1
    event = db.audit_events.find_one({"action": "mfa.backup_code_used", "account_id": account.account_id})
    assert event["details"]["remaining"] == 9


def test_disable_needs_password_and_code_and_ends_other_sessions(stack, http, db):
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    other = _mfa(stack, http, _challenge(stack, account), two.backup_codes[0]).json()
    url = f"{stack.base_url}/v1/me/2fa/disable"
    bad_password = http.post(
        url, json={"password": "Not-the-password1", "code": two.code(0)}, headers=account.headers
    )
    assert bad_password.status_code == 400 and bad_password.json()["errors"][0]["field"] == "password"
    bad_code = http.post(url, json={"password": account.password, "code": "000000"}, headers=account.headers)
    assert bad_code.status_code == 400 and bad_code.json()["errors"][0]["field"] == "code"
    missing = http.post(url, json={"password": account.password}, headers=account.headers)
    assert missing.status_code == 400
    ok = http.post(url, json={"password": account.password, "code": two.code(0)}, headers=account.headers)
    assert ok.status_code == 204
    assert (
        http.get(
            f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"}
        ).status_code
        == 401
    )
    me = http.get(f"{stack.base_url}/v1/me", headers=account.headers)
    assert me.status_code == 200 and me.json()["account"]["totp_enabled"] is False
    assert "totp" not in db.accounts.find_one({"_id": account.account_id})
    assert set(login(stack, account.email, account.password)) >= {"access_token"}  # no code needed now
    assert (
        http.post(
            url, json={"password": account.password, "code": "123456"}, headers=account.headers
        ).status_code
        == 422
    )


def test_regenerated_backup_codes_replace_the_old_ones(stack, http, db):
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    url = f"{stack.base_url}/v1/me/2fa/backup-codes"
    refused = http.post(
        url, json={"password": "Not-the-password1", "code": two.code(0)}, headers=account.headers
    )
    assert refused.status_code == 400
    response = http.post(
        url, json={"password": account.password, "code": two.code(0)}, headers=account.headers
    )
    assert response.status_code == 200
    fresh = response.json()["backup_codes"]
    assert len(fresh) == 10 and not set(fresh) & set(two.backup_codes)
    assert _mfa(stack, http, _challenge(stack, account), two.backup_codes[0]).status_code == 401
    assert _mfa(stack, http, _challenge(stack, account), fresh[0]).status_code == 200
    assert db.audit_events.find_one(
        {"action": "mfa.backup_codes_regenerated", "account_id": account.account_id}
    )


def test_mfa_token_is_single_use_and_not_a_bearer_token(stack, http):
    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    token = _challenge(stack, account)
    assert (
        http.get(f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert _mfa(stack, http, token, two.code(0)).status_code == 200
    assert _mfa(stack, http, token, two.code(1)).status_code == 401
    assert _mfa(stack, http, "made-up-token", two.code(1)).status_code == 401


def test_rewrap_job_reseals_every_seed_and_codes_keep_working(stack, http, db, tmp_path):
    """python -m auth.rewrap's job, run as the auth identity against the real keyvault."""
    from auth.clients.keyvault_secretbox import KeyvaultSecretBox
    from auth.rewrap import rewrap_all
    from auth.store.accounts import EncryptedFields
    from support.grpc_clients import identity_files

    account = new_account(stack)
    two = enable_2fa(stack, account, http)
    before = db.accounts.find_one({"_id": account.account_id})["totp"]["secret"]
    files = identity_files(stack.var_dir / "secrets" / "tls", "auth", tmp_path / "tls")
    box = KeyvaultSecretBox.connect(f"127.0.0.1:{stack.ports['keyvault']}", files)
    try:
        report = rewrap_all(EncryptedFields(db), box)
    finally:
        box.close()
    assert report.failed == [] and report.rewrapped >= 1 and report.reported
    after = db.accounts.find_one({"_id": account.account_id})["totp"]["secret"]
    assert after != before  # a fresh IV at least
    assert _mfa(stack, http, _challenge(stack, account), two.code(0)).status_code == 200
