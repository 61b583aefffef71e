"""Access-token attacks against the real gateway (docs/security.md: sessions).

Every forged token names a live session of a real account, so the only thing wrong with it is
the attack itself; a control token made by the same forging code is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from support.accounts import login, new_account
from svccommon.access_tokens import load_private_key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture(scope="module")
def victim(stack):
    return new_account(stack)


@pytest.fixture(scope="module")
def signing_key(stack):
    return load_private_key((stack.var_dir / "secrets" / "auth" / "jwt_signing_key.pem").read_bytes())


def _claims_of(token: str) -> dict[str, Any]:
    return _decode(token.split(".")[1])


def _sign(key, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "at+jwt", **header})


def _status(stack, http, token: str) -> int:
    return http.get(f"{stack.base_url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_control_token_made_by_the_forging_code_is_accepted(stack, http, victim, signing_key):
    claims = {**_claims_of(victim.access_token), "jti": "control", "iat": int(time.time()) - 5}
    assert _status(stack, http, _sign(signing_key, claims)) == 200


def test_alg_none_is_401(stack, http, victim):
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    payload = victim.access_token.split(".")[1]
    assert _status(stack, http, f"{header}.{payload}.") == 401


def test_hs256_signed_with_the_public_key_is_401(stack, http, victim):
    public_pem = (stack.var_dir / "secrets" / "gateway" / "jwt_public_key.pem").read_bytes()
    header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
    signing_input = f"{header}.{victim.access_token.split('.')[1]}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert _status(stack, http, f"{signing_input}.{_b64(signature)}") == 401


def test_tampered_payload_is_401(stack, http, victim):
    other = new_account(stack)
    header, _, signature = victim.access_token.split(".")
    claims = {**_claims_of(victim.access_token), "sub": other.account_id}
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert _status(stack, http, tampered) == 401


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"exp": -60}, id="expired"),
        pytest.param({"nbf": +600}, id="future-nbf"),
        pytest.param({"aud": "another-api"}, id="wrong-aud"),
        pytest.param({"iss": "someone-else"}, id="wrong-iss"),
        pytest.param({"exp": None}, id="missing-exp"),
        pytest.param({"ver": 7}, id="stale-or-future-token-version"),
        pytest.param({"sid": "0" * 32}, id="unknown-session"),
    ],
)
def test_bad_claims_are_401_even_with_a_valid_signature(stack, http, victim, signing_key, change):
    now = int(time.time())
    claims = _claims_of(victim.access_token)
    for name, value in change.items():
        if value is None:
            claims.pop(name)
        elif name in ("exp", "nbf"):
            claims[name] = now + value
        else:
            claims[name] = value
    assert _status(stack, http, _sign(signing_key, claims)) == 401


def test_wrong_typ_is_401(stack, http, victim, signing_key):
    claims = _claims_of(victim.access_token)
    assert (
        _status(stack, http, jwt.encode(claims, signing_key, algorithm="EdDSA", headers={"typ": "JWT"}))
        == 401
    )


def test_injected_jwk_header_is_401(stack, http, victim, signing_key):
    claims = _claims_of(victim.access_token)
    assert _status(stack, http, _sign(signing_key, claims, jku="https://attacker.example/keys")) == 401


def test_refresh_token_as_access_token_is_401(stack, http, victim):
    assert _status(stack, http, victim.refresh_token) == 401


def test_token_after_logout_is_401(stack, http):
    account = new_account(stack)
    second = login(stack, account.email, account.password)
    assert _status(stack, http, second["access_token"]) == 200
    http.post(f"{stack.base_url}/v1/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert _status(stack, http, second["access_token"]) == 401
    assert _status(stack, http, account.access_token) == 200
