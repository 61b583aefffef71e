"""Webhook signatures: a known answer computed here with hmac, and every way a check must fail."""

from __future__ import annotations

import hashlib
import hmac

from usage.signing import SIGNATURE_HEADER, new_secret, signature_header, verify

SECRET = "whsec_test_secret"
BODY = b'{"alert":"budget","spent":"12.50"}'
T = 1_764_620_000


def test_known_answer_matches_an_independent_hmac() -> None:
    expected = hmac.new(SECRET.encode(), b"1764620000." + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, BODY, T) == f"t=1764620000,v1={expected}"
    assert SIGNATURE_HEADER == "AICosts-Signature"


def test_verify_accepts_a_fresh_signature_and_whitespace_between_entries() -> None:
    header = signature_header(SECRET, BODY, T)
    assert verify(SECRET, header, BODY, now=T)
    assert verify(SECRET, header, BODY, now=T + 299)
    assert verify(SECRET, header.replace(",", ", "), BODY, now=T)


def test_verify_rejects_tampering_wrong_secret_and_old_or_future_timestamps() -> None:
    header = signature_header(SECRET, BODY, T)
    assert not verify(SECRET, header, BODY + b" ", now=T)
    assert not verify("whsec_other", header, BODY, now=T)
    assert not verify(SECRET, header, BODY, now=T + 301)
    assert not verify(SECRET, header, BODY, now=T - 301)
    assert verify(SECRET, header, BODY, now=T + 3600, tolerance_s=3600)
    # The timestamp is signed: moving it forward to pass the age check breaks the signature.
    assert not verify(SECRET, header.replace(f"t={T}", f"t={T + 1000}"), BODY, now=T + 1000)


def test_verify_rejects_missing_or_malformed_parts() -> None:
    good = signature_header(SECRET, BODY, T)
    sig = good.split("v1=")[1]
    for header in (
        "",
        f"v1={sig}",  # no timestamp
        f"t={T}",  # no signature
        f"t={T},v0={sig}",  # only a scheme we do not use
        f"t={T},t={T},v1={sig}",  # two timestamps
        f"t=-{T},v1={sig}",
        f"t={T}.0,v1={sig}",
        f"t={T},v1",
        f"t={T},v1={sig[:-1]}",
        f"t={T},v1={sig}," + "x" * 5000,
    ):
        assert not verify(SECRET, header, BODY, now=T), header


def test_rotation_header_verifies_under_either_secret() -> None:
    new, old = new_secret(), new_secret()
    header = signature_header(new, BODY, T, previous_secrets=[old])
    assert header.count("v1=") == 2
    assert verify(new, header, BODY, now=T)
    assert verify(old, header, BODY, now=T)
    assert not verify(new_secret(), header, BODY, now=T)


def test_new_secrets_are_prefixed_and_distinct() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(s.startswith("whsec_") and len(s) >= 6 + 43 for s in secrets)


def test_a_non_ascii_header_is_refused_not_an_error() -> None:
    assert verify("whsec_x", "t=1,v1=\u00e9\u00e9", b"{}", now=1) is False
