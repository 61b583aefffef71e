"""TOTP (RFC 6238) and backup codes (docs/security.md: two-factor sign-in)."""

from __future__ import annotations

import base64
import re

import pyotp
import pytest
from auth import totp
from auth.totp import (
    code_at,
    hash_backup_codes,
    is_replay,
    match_step,
    new_backup_codes,
    new_secret,
    normalize_backup_code,
    provisioning_uri,
    qr_svg,
    spend_backup_code,
    verify_backup_code,
)

# RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to 20, 32 and 64 bytes.
SEEDS = {
    "sha1": base64.b32encode(b"12345678901234567890").decode(),
    "sha256": base64.b32encode(b"12345678901234567890123456789012").decode(),
    "sha512": base64.b32encode(b"1234567890" * 6 + b"1234").decode(),
}
# (Unix time, SHA1, SHA256, SHA512), 8 digits.
RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]

NOW = 1_700_000_015.0  # mid-step, fixed clock
SECRET = SEEDS["sha1"]
FAST = 4


@pytest.mark.parametrize(("t", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_rfc6238_appendix_b(t: int, sha1: str, sha256: str, sha512: str) -> None:
    assert code_at(SEEDS["sha1"], t, digits=8, digest="sha1") == sha1
    assert code_at(SEEDS["sha256"], t, digits=8, digest="sha256") == sha256
    assert code_at(SEEDS["sha512"], t, digits=8, digest="sha512") == sha512


@pytest.mark.parametrize(("t", "sha1"), [(row[0], row[1]) for row in RFC6238_VECTORS])
def test_production_settings_accept_the_six_digit_rfc_codes(t: int, sha1: str) -> None:
    # Dynamic truncation is "mod 10^digits", so the 6-digit code is the 8-digit code's last 6 digits.
    assert match_step(SECRET, sha1[-6:], t, None) == t // 30


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_one_step_of_drift_is_accepted(offset: int) -> None:
    code = code_at(SECRET, NOW + offset * 30)
    assert match_step(SECRET, code, NOW, None) == totp.step_at(NOW) + offset


@pytest.mark.parametrize("offset", [-2, 2, -3, 3])
def test_two_steps_of_drift_are_rejected(offset: int) -> None:
    code = code_at(SECRET, NOW + offset * 30)
    assert match_step(SECRET, code, NOW, None) is None


def test_same_code_twice_is_rejected_as_replay() -> None:
    code = code_at(SECRET, NOW)
    step = match_step(SECRET, code, NOW, None)
    assert step is not None
    assert match_step(SECRET, code, NOW, step) is None
    assert match_step(SECRET, code, NOW + 29, step) is None  # still inside the window
    assert is_replay(SECRET, code, NOW, step)


def test_older_step_after_a_newer_one_is_rejected() -> None:
    used = match_step(SECRET, code_at(SECRET, NOW), NOW, None)
    assert used is not None
    older = code_at(SECRET, NOW - 30)
    assert match_step(SECRET, older, NOW, used) is None
    assert is_replay(SECRET, older, NOW, used)


def test_next_step_after_use_is_accepted() -> None:
    used = match_step(SECRET, code_at(SECRET, NOW), NOW, None)
    assert used is not None
    later = NOW + 30
    assert match_step(SECRET, code_at(SECRET, later), later, used) == used + 1


def test_wrong_code_is_not_a_replay() -> None:
    good = code_at(SECRET, NOW)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    assert match_step(SECRET, wrong, NOW, None) is None
    assert not is_replay(SECRET, wrong, NOW, totp.step_at(NOW))
    assert not is_replay(SECRET, good, NOW, None)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12345a"])
def test_malformed_codes_never_match(code: str) -> None:
    assert match_step(SECRET, code, NOW, None) is None


def test_spaces_and_dashes_are_ignored() -> None:
    code = code_at(SECRET, NOW)
    assert match_step(SECRET, f" {code[:3]} {code[3:]} ", NOW, None) == totp.step_at(NOW)
    assert match_step(SECRET, f"{code[:3]}-{code[3:]}", NOW, None) == totp.step_at(NOW)


def test_first_step_after_epoch_has_no_negative_counter() -> None:
    assert match_step(SECRET, code_at(SECRET, 10), 10, None) == 0


def test_new_secret_is_160_random_bits() -> None:
    secret = new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20
    assert secret != new_secret()


def test_provisioning_uri_round_trips() -> None:
    secret = new_secret()
    uri = provisioning_uri(secret, "alice@example.com")
    assert uri.startswith("otpauth://totp/AICosts:alice%40example.com?")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret and parsed.issuer == "AICosts"
    assert parsed.digits == 6 and parsed.interval == 30


def test_qr_svg_is_a_standalone_svg_document() -> None:
    svg = qr_svg(provisioning_uri(new_secret(), "alice@example.com"))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg


def test_backup_codes_are_ten_grouped_base32_codes() -> None:
    codes = new_backup_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", code)
    assert len(new_backup_codes(3)) == 3


def test_only_bcrypt_hashes_are_produced() -> None:
    codes = new_backup_codes()
    hashes = hash_backup_codes(codes, cost=FAST)
    assert len(hashes) == len(codes)
    for code, hashed in zip(codes, hashes, strict=True):
        assert hashed.startswith("$2b$04$") and len(hashed) == 60
        assert normalize_backup_code(code) not in hashed and code not in hashed


def test_backup_code_default_cost_is_the_asvs_floor() -> None:
    assert totp.BACKUP_CODE_COST >= 10


def test_backup_code_works_once() -> None:
    codes = new_backup_codes(4)
    hashes: list[str | None] = list(hash_backup_codes(codes, cost=FAST))
    index = verify_backup_code(codes[2], hashes)
    assert index == 2
    hashes = spend_backup_code(hashes, index)
    assert hashes[2] is None
    assert verify_backup_code(codes[2], hashes) is None
    assert verify_backup_code(codes[0], hashes) == 0  # the others still work
    with pytest.raises(ValueError):
        spend_backup_code(hashes, 2)


def test_backup_code_input_is_normalized() -> None:
    code = "7KQ2M-X9DH0"
    hashes = hash_backup_codes([code], cost=FAST)
    for typed in ("7kq2mx9dh0", " 7KQ2M X9DH0 ", "7kq2m-x9dho", "7KQ2M--X9DHO"):
        assert verify_backup_code(typed, hashes) == 0


@pytest.mark.parametrize("typed", ["", "7KQ2M-X9DH", "7KQ2M-X9DH00", "7KQ2M-X9DHU", "7KQ2M-X9DH!"])
def test_malformed_backup_codes_never_match(typed: str) -> None:
    assert verify_backup_code(typed, hash_backup_codes(["7KQ2M-X9DH0"], cost=FAST)) is None


def test_hash_backup_codes_rejects_non_codes() -> None:
    with pytest.raises(ValueError):
        hash_backup_codes(["not a code"], cost=FAST)
