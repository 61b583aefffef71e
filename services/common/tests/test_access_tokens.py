"""Access-token attacks and opaque tokens (docs/security.md: sessions; RFC 8725)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from svccommon.access_tokens import (
    Claims,
    InvalidToken,
    generate_keypair,
    hash_token,
    issue_access_token,
    load_private_key,
    load_public_key,
    new_opaque_token,
    public_key_pem,
    verify_access_token,
)

NOW = 1_700_000_000
PRIVATE_PEM, PUBLIC_PEM = generate_keypair()
PRIVATE = load_private_key(PRIVATE_PEM)
PUBLIC = load_public_key(PUBLIC_PEM)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": "aicosts-auth",
        "aud": "aicosts-api",
        "sub": "acct-1",
        "sid": "sess-1",
        "ver": 3,
        "jti": "jti-1",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def forge(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def signed(payload: dict[str, Any], key: Ed25519PrivateKey = PRIVATE, **header: Any) -> str:
    """A correctly Ed25519-signed token whose header and claims are chosen by the test."""
    return forge({"alg": "EdDSA", "typ": "at+jwt", **header}, payload, key.sign)


def rejected(token: str, now: float = NOW) -> bool:
    with pytest.raises(InvalidToken) as err:
        verify_access_token(PUBLIC, token, now)
    return str(err.value) == "invalid token"


def test_issued_token_round_trips() -> None:
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW + 0.9)
    got = verify_access_token(PUBLIC, token, NOW + 10)
    assert isinstance(got, Claims)
    assert (got.account_id, got.session_id, got.token_version) == ("acct-1", "sess-1", 3)
    assert (got.iat, got.nbf, got.exp) == (NOW, NOW, NOW + 600)
    with pytest.raises(AttributeError):
        got.sub = "other"  # type: ignore[misc]


def test_issued_header_and_claim_names() -> None:
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 0, NOW, ttl=300, kid="k1")
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "sid", "ver", "jti", "iat", "nbf", "exp"}
    assert payload["iss"] == "aicosts-auth" and payload["aud"] == "aicosts-api"
    assert payload["exp"] - payload["iat"] == 300
    assert verify_access_token(PUBLIC, token, NOW).ver == 0


def test_each_token_has_a_unique_jti() -> None:
    first = verify_access_token(PUBLIC, issue_access_token(PRIVATE, "a", "s", 1, NOW), NOW)
    second = verify_access_token(PUBLIC, issue_access_token(PRIVATE, "a", "s", 1, NOW), NOW)
    assert first.jti != second.jti and len(first.jti) >= 16


@pytest.mark.parametrize("ttl", [0, -1, 901])
def test_issue_refuses_bad_ttl(ttl: int) -> None:
    with pytest.raises(ValueError):
        issue_access_token(PRIVATE, "a", "s", 1, NOW, ttl=ttl)


def test_issue_refuses_bad_identity() -> None:
    for args in (("", "s", 1), ("a", "", 1), ("a", "s", -1), ("a", "s", True)):
        with pytest.raises(ValueError):
            issue_access_token(PRIVATE, *args, now=NOW)  # type: ignore[arg-type]


def test_the_forging_helper_makes_valid_tokens() -> None:
    # Guards the attack tests below: they fail only because of the one thing each one changes.
    assert verify_access_token(PUBLIC, signed(claims()), NOW).sub == "acct-1"


def test_alg_none() -> None:
    assert rejected(forge({"alg": "none", "typ": "at+jwt"}, claims(), lambda _: b""))
    assert rejected(f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{segment(claims())}.")


def test_hs256_signed_with_the_public_key_bytes() -> None:
    def hs256(data: bytes) -> bytes:
        return hmac.new(PUBLIC_PEM, data, hashlib.sha256).digest()

    assert rejected(forge({"alg": "HS256", "typ": "at+jwt"}, claims(), hs256))


def test_tampered_payload() -> None:
    header, _, signature = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW).split(".")
    assert rejected(f"{header}.{segment(claims(sub='acct-2'))}.{signature}")


def test_tampered_signature() -> None:
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert rejected(flipped)


def test_signed_by_another_ed25519_key() -> None:
    other = Ed25519PrivateKey.generate()
    assert rejected(issue_access_token(other, "acct-1", "sess-1", 3, NOW))


def test_expired() -> None:
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW, ttl=600)
    verify_access_token(PUBLIC, token, NOW + 599)
    assert rejected(token, NOW + 600)
    assert rejected(token, NOW + 10_000)


def test_leeway_allows_small_clock_skew_only() -> None:
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW, ttl=600)
    verify_access_token(PUBLIC, token, NOW + 605, leeway=10)
    verify_access_token(PUBLIC, token, NOW - 5, leeway=10)
    with pytest.raises(InvalidToken):
        verify_access_token(PUBLIC, token, NOW + 611, leeway=10)


def test_future_nbf() -> None:
    assert rejected(signed(claims(nbf=NOW + 60)))
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW + 60)
    assert rejected(token)  # nbf and iat both in the future


def test_future_iat() -> None:
    assert rejected(signed(claims(iat=NOW + 60)))


@pytest.mark.parametrize(
    "bad",
    [
        {"aud": "aicosts-keyvault"},
        {"aud": ["aicosts-api", "aicosts-keyvault"]},  # strict: one audience, exactly ours
        {"iss": "someone-else"},
        {"iss": "AICOSTS-AUTH"},
    ],
)
def test_wrong_audience_or_issuer(bad: dict[str, Any]) -> None:
    assert rejected(signed(claims(**bad)))


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "aud", "iss", "sub", "sid", "ver", "jti"])
def test_missing_required_claim(missing: str) -> None:
    assert rejected(signed(claims(**{missing: None})))


BAD_VALUES: list[dict[str, Any]] = [{"ver": True}, {"ver": "3"}, {"ver": -1}, {"sub": ""}, {"sub": 42}]
BAD_VALUES += [{"sid": ["s"]}, {"jti": 7}, {"exp": float(NOW + 600)}, {"exp": str(NOW + 600)}]


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_malformed_claim_values(bad: dict[str, Any]) -> None:
    assert rejected(signed(claims(**bad)))


@pytest.mark.parametrize("typ", ["refresh", "JWT", "at+JWT", "", None])
def test_wrong_typ(typ: str | None) -> None:
    header = {"alg": "EdDSA"} if typ is None else {"alg": "EdDSA", "typ": typ}
    assert rejected(forge(header, claims(), PRIVATE.sign))


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "x5c", "crit"])
def test_injected_key_headers_are_refused_even_when_the_signature_is_ours(name: str) -> None:
    value: Any = {
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x00" * 32)},
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIB"],
        "crit": ["exp"],
    }[name]
    assert rejected(signed(claims(), **{name: value}))


def test_attacker_key_embedded_as_jwk() -> None:
    attacker = Ed25519PrivateKey.generate()
    raw = attacker.public_key().public_bytes_raw()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
    assert rejected(signed(claims(), key=attacker, jwk=jwk))


def test_kid_must_be_a_string() -> None:
    verify_access_token(PUBLIC, signed(claims(), kid="k1"), NOW)
    assert rejected(signed(claims(), kid=7))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "....", "e30.e30.", "\u00e9.\u00e9.\u00e9"])
def test_garbage(garbage: str) -> None:
    assert rejected(garbage)


def test_verify_defaults_to_the_system_clock() -> None:
    token = issue_access_token(PRIVATE, "acct-1", "sess-1", 3, time.time())
    assert verify_access_token(PUBLIC, token).sub == "acct-1"
    assert rejected(issue_access_token(PRIVATE, "acct-1", "sess-1", 3, NOW), now=time.time())


def test_opaque_tokens_have_256_bits_and_hash_to_sha256_hex() -> None:
    token = new_opaque_token()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert token != new_opaque_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest() and len(digest) == 64
    assert hash_token(token) == digest and token not in digest


def test_key_helpers_round_trip_and_refuse_other_key_types() -> None:
    assert public_key_pem(PRIVATE) == PUBLIC_PEM
    assert PRIVATE_PEM.startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(ValueError):
        load_private_key(PUBLIC_PEM)
    with pytest.raises(ValueError):
        load_public_key(b"not a pem")
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError):
        load_public_key(ec_pem)
