"""Access tokens (Ed25519-signed JWTs, typ `at+jwt`) and opaque high-entropy tokens.

Shared: the auth service issues with the private key, the gateway verifies with the public key
only. It depends only on the standard library, PyJWT and cryptography. Every verification
failure raises the same `InvalidToken` (RFC 8725, ASVS 9.1/9.2).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ISSUER = "aicosts-auth"
AUDIENCE = "aicosts-api"
# RFC 9068 media type (not a secret); a token of any other type is never an access token.
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105
ALGORITHM = "EdDSA"
DEFAULT_TTL = 600
MAX_TTL = 900  # access tokens live 5-15 minutes; revocation relies on that plus `ver`

# Anything else (jku, jwk, x5u, x5c, crit, b64, ...) could point the verifier at attacker keys or
# change how the payload is read, so it is refused outright (ASVS 9.1.3).
_ALLOWED_HEADERS = frozenset({"alg", "typ", "kid"})
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "aud", "iss", "sub", "sid", "ver", "jti"]
OPAQUE_TOKEN_BYTES = 32  # 256 bits


class InvalidToken(Exception):
    """The token must not be trusted. The message is fixed so it reveals nothing to the caller."""

    def __init__(self) -> None:
        super().__init__("invalid token")


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str  # account id
    sid: str  # session id (the refresh-token family)
    ver: int  # the account's token_version at issue time; bumped on logout-all, reset, MFA change
    jti: str
    iat: int
    nbf: int
    exp: int

    @property
    def account_id(self) -> str:
        return self.sub

    @property
    def session_id(self) -> str:
        return self.sid

    @property
    def token_version(self) -> int:
        return self.ver


def issue_access_token(
    private_key: Ed25519PrivateKey,
    account_id: str,
    session_id: str,
    token_version: int,
    now: float,
    ttl: int = DEFAULT_TTL,
    *,
    kid: str | None = None,
) -> str:
    """A signed access token valid from `now` (Unix seconds) for `ttl` seconds."""
    if not account_id or not session_id:
        raise ValueError("account_id and session_id are required")
    if not _is_int(token_version) or token_version < 0:
        raise ValueError("token_version must be a non-negative integer")
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
    issued = int(now)
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": account_id,
        "sid": session_id,
        "ver": token_version,
        "jti": secrets.token_urlsafe(16),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    headers: dict[str, Any] = {"typ": ACCESS_TOKEN_TYPE}
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(payload, private_key, algorithm=ALGORITHM, headers=headers)


def verify_access_token(
    public_key: Ed25519PublicKey, token: str, now: float | None = None, *, leeway: int = 0
) -> Claims:
    """Verified claims of an access token, or InvalidToken. `now` defaults to the system clock.

    The caller still has to compare `ver` with the account's current token_version and check that the
    session `sid` is not revoked.
    """
    current = time.time() if now is None else now
    try:
        decoded = jwt.decode_complete(
            token,
            key=public_key,
            algorithms=[ALGORITHM],  # pinned: never taken from the token (RFC 8725 §2.1)
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": _REQUIRED_CLAIMS,
                "strict_aud": True,
                # Time claims are checked below against the injected clock.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc

    header: dict[str, Any] = decoded["header"]
    if not set(header) <= _ALLOWED_HEADERS or header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken()
    if "kid" in header and not isinstance(header["kid"], str):
        raise InvalidToken()

    payload: dict[str, Any] = decoded["payload"]
    claims = _claims_from(payload)
    if claims.exp <= current - leeway:
        raise InvalidToken()  # expired
    if claims.nbf > current + leeway or claims.iat > current + leeway:
        raise InvalidToken()  # not valid yet
    return claims


def _is_int(value: object) -> bool:
    # bool is an int subclass; `true` in JSON must not pass as a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _claims_from(payload: dict[str, Any]) -> Claims:
    strings = ("sub", "sid", "jti")
    numbers = ("ver", "iat", "nbf", "exp")
    if not all(isinstance(payload[k], str) and payload[k] for k in strings):
        raise InvalidToken()
    if not all(_is_int(payload[k]) for k in numbers) or payload["ver"] < 0:
        raise InvalidToken()
    return Claims(
        sub=payload["sub"],
        sid=payload["sid"],
        ver=payload["ver"],
        jti=payload["jti"],
        iat=payload["iat"],
        nbf=payload["nbf"],
        exp=payload["exp"],
    )


def new_opaque_token() -> str:
    """256 random bits, URL-safe: refresh, email-verification, password-reset and MFA-challenge tokens."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex, the form stored and looked up. A fast hash is enough at 256 bits of entropy."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An unencrypted PKCS#8 PEM Ed25519 private key; ValueError for anything else."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """A SubjectPublicKeyInfo PEM Ed25519 public key; ValueError for anything else."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def public_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_keypair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) for development secrets. Production keys come from mounted Secrets."""
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private_pem, public_key_pem(private_key)
