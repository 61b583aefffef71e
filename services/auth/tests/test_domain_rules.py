"""Pure rules of the auth domain: names, email normalization, the hasher's counters, and the
servicer attaching error metadata (bad field, retry-after) for the gateway."""

from __future__ import annotations

import grpc
import pytest
from auth import passwords
from auth.accounts import clean_name
from auth.core import lookup_key, normalize_email
from auth.errors import FieldInvalid, Throttled
from auth.hashing import PasswordHasher
from auth.service import rpc
from svccommon.errors import NotFound


def test_email_is_normalized_and_keyed_case_insensitively() -> None:
    assert normalize_email("Ada.Lovelace@EXAMPLE.com") == (
        "Ada.Lovelace@example.com",
        "ada.lovelace@example.com",
    )


@pytest.mark.parametrize("bad", ["", "no-at-sign", "two@@example.com", "a@b", "x" * 250 + "@example.com"])
def test_malformed_emails_name_the_field(bad: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        normalize_email(bad)
    assert dict(caught.value.metadata)["x-field"] == "email"


def test_login_lookup_key_never_raises() -> None:
    assert lookup_key("  Not An Email ") == "not an email"
    assert lookup_key("Ada@Example.com") == "ada@example.com"


@pytest.mark.parametrize(("raw", "expected"), [("  Ada  ", "Ada"), ("Zoë", "Zoë"), ("Cafe\u0301", "Café")])
def test_names_are_trimmed_and_nfc(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "a\u200bb", "x" * 101])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(FieldInvalid):
        clean_name(bad)


def test_hasher_counts_every_bcrypt_computation_at_its_cost() -> None:
    hasher = PasswordHasher(10)
    stored = hasher.hash("correct horse battery staple")
    assert passwords.hash_cost(stored) == 10
    assert hasher.verify("correct horse battery staple", stored)
    hasher.dummy_verify()
    assert dict(hasher.calls) == {"hash": 1, "verify": 1, "dummy": 1}
    assert hasher.bcrypt_checks == 3


def test_hasher_refuses_a_cost_below_ten() -> None:
    with pytest.raises(ValueError, match="between 10"):
        PasswordHasher(9)


class RecordingContext:
    def __init__(self) -> None:
        self.trailing: tuple = ()

    def set_trailing_metadata(self, metadata: tuple) -> None:
        self.trailing = metadata


@pytest.mark.parametrize(
    ("error", "metadata", "code"),
    [
        (
            FieldInvalid("password", "too short", "password_too_short"),
            (("x-field", "password"), ("x-error-code", "password_too_short")),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (Throttled("slow down", 42), (("retry-after", "42"),), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (NotFound("gone"), (), grpc.StatusCode.NOT_FOUND),
    ],
)
def test_servicer_attaches_error_metadata_then_reraises(error, metadata, code) -> None:
    @rpc
    def method(self, request, context):
        raise error

    context = RecordingContext()
    with pytest.raises(type(error)) as caught:
        method(None, None, context)
    assert caught.value is error and grpc.StatusCode[error.status] == code
    assert context.trailing == metadata
