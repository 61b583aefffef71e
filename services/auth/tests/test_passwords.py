"""Password policy and bcrypt storage (docs/security.md: passwords are never stored)."""

from __future__ import annotations

import statistics
import time

import pytest
from auth import passwords
from auth.passwords import (
    DEFAULT_COST,
    MAX_BYTES,
    PasswordPolicyError,
    dummy_verify,
    hash_password,
    needs_rehash,
    require_config_cost,
    validate_new_password,
    verify_password,
)

FAST = 4  # lowest bcrypt cost: tests that are not about the cost stay fast


def test_eight_characters_is_enough() -> None:
    validate_new_password("kq7#vbnz")


def test_seven_characters_is_too_short() -> None:
    with pytest.raises(PasswordPolicyError) as err:
        validate_new_password("kq7#vbn")
    assert err.value.code == "password_too_short"
    assert "at least 8 characters" in err.value.message


def test_sixty_four_characters_is_allowed() -> None:
    pw = "correct horse battery staple " * 2 + "xyzzy"
    assert len(pw) == 63
    validate_new_password(pw + "!")


def test_exactly_72_bytes_of_multibyte_text_is_allowed() -> None:
    pw = "€" * 24  # 3 bytes each
    assert len(pw.encode()) == MAX_BYTES
    validate_new_password(pw)


def test_73_byte_multibyte_password_gets_a_clear_message() -> None:
    pw = "é" * 36 + "a"  # 37 characters, 73 bytes
    assert len(pw.encode()) == 73
    with pytest.raises(PasswordPolicyError) as err:
        validate_new_password(pw)
    assert err.value.code == "password_too_long"
    message = err.value.message
    assert "72 bytes" in message and "73 bytes" in message
    assert "accented" in message  # explains why fewer than 72 characters may fit


def test_hash_password_never_truncates_or_leaks_bcrypt_error() -> None:
    with pytest.raises(PasswordPolicyError):
        hash_password("é" * 36 + "a", cost=FAST)
    with pytest.raises(PasswordPolicyError):
        hash_password("a" * 73, cost=FAST)


@pytest.mark.parametrize("pw", ["password", "Password123", "QWERTY123", "iloveyou", "Passw0rd", "12345678"])
def test_common_passwords_are_rejected_case_insensitively(pw: str) -> None:
    with pytest.raises(PasswordPolicyError) as err:
        validate_new_password(pw)
    assert err.value.code == "password_too_common"
    assert "too common" in err.value.message


def test_common_list_is_bundled_and_loaded_once() -> None:
    words = passwords._common_passwords()
    assert len(words) >= 200
    assert all(w == w.lower() for w in words)
    assert passwords._common_passwords() is words


def test_policy_error_is_a_value_error_with_the_message_as_text() -> None:
    err = PasswordPolicyError("Nope.", "x")
    assert isinstance(err, ValueError) and str(err) == "Nope."


def test_hash_is_2b_with_the_default_cost() -> None:
    assert DEFAULT_COST == 12
    hashed = hash_password("kq7#vbnz")
    assert hashed.startswith("$2b$12$") and len(hashed) == 60
    assert verify_password("kq7#vbnz", hashed)


def test_hash_uses_the_configured_cost_and_a_fresh_salt() -> None:
    first, second = hash_password("kq7#vbnz", cost=10), hash_password("kq7#vbnz", cost=10)
    assert first.startswith("$2b$10$")
    assert first != second


def test_verify_rejects_wrong_password() -> None:
    hashed = hash_password("kq7#vbnz", cost=FAST)
    assert not verify_password("kq7#vbnZ", hashed)
    assert not verify_password("", hashed)


def test_verify_never_raises() -> None:
    hashed = hash_password("kq7#vbnz", cost=FAST)
    assert not verify_password("é" * 40, hashed)  # > 72 bytes: bcrypt 5 would raise
    assert not verify_password("kq7#vbnz", "not a bcrypt hash")
    assert not verify_password("kq7#vbnz", "")
    assert not verify_password("kq7#vbnz", "$2b$04$ünïcode")
    assert not verify_password("x" * 100, "$2b$03$" + "." * 53)  # out-of-range cost in a bad hash


def test_nul_bytes_are_not_a_truncation_point() -> None:
    hashed = hash_password("abcdefgh\x00one", cost=FAST)
    assert not verify_password("abcdefgh\x00two", hashed)
    assert not verify_password("abcdefgh", hashed)


@pytest.mark.parametrize("cost", [3, 32])
def test_hash_refuses_costs_bcrypt_cannot_use(cost: int) -> None:
    with pytest.raises(ValueError):
        hash_password("kq7#vbnz", cost=cost)


def test_config_guard_refuses_costs_below_ten() -> None:
    assert require_config_cost(10) == 10
    assert require_config_cost(12) == 12
    for bad in (4, 9, 32):
        with pytest.raises(ValueError):
            require_config_cost(bad)


def test_needs_rehash_when_stored_cost_is_lower() -> None:
    weak = hash_password("kq7#vbnz", cost=FAST)
    assert needs_rehash(weak, cost=10)
    assert not needs_rehash(weak, cost=FAST)
    assert needs_rehash("$2a$12$" + "." * 53, cost=12)  # old prefix → rewrite as $2b$
    assert needs_rehash("garbage", cost=12)


def test_dummy_hash_matches_the_requested_cost() -> None:
    dummy_verify(cost=FAST)
    assert passwords._dummy_hash(FAST).startswith(b"$2b$04$")


def _median_seconds(fn: object, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def test_dummy_verify_costs_about_as_much_as_a_real_check() -> None:
    cost = 8  # ~15 ms: large enough to dominate noise, small enough to stay fast
    hashed = hash_password("kq7#vbnz", cost=cost)
    dummy_verify(cost=cost)  # warm the cached dummy hash
    real = _median_seconds(lambda: verify_password("wrong-password", hashed))
    dummy = _median_seconds(lambda: dummy_verify(cost=cost))
    too_long = _median_seconds(lambda: verify_password("x" * 100, hashed))
    assert 0.5 < dummy / real < 2.0
    assert 0.5 < too_long / real < 2.0
