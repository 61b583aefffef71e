"""Schema-driven fuzzing (Schemathesis) of every operation in the session stack's /openapi.json,
signed in as a user of its own. The document is built in-process at collection (so each
operation is its own test item) and checked to be the one the stack serves. Each operation gets
the schema's examples, Schemathesis' coverage cases (boundary values, missing and wrong-typed
fields) and a bounded number of generated requests, valid and invalid. No answer may be a 5xx,
and every answer must match the documented status codes, media types, headers and schemas."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from gateway import openapi
from gateway.api import MODULES
from gateway.api.auth_support import Email
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.accounts import TestAccount, new_account, random_loopback_ip, session_from
from svccommon.platforms import PLATFORMS

pytestmark = pytest.mark.slow  # thousands of generated requests against every operation

CONFIG = {
    "generation": {
        "mode": "all",  # valid and invalid requests
        "max-examples": 50,  # generated cases per operation: about a minute on two cores
        "deterministic": True,  # the same cases on every run, so a failure reproduces
        "no-shrink": True,  # a failure is reported as found: bounded time
    },
    "phases": {"stateful": {"enabled": False}},
}
# Refusals of a schema-valid body that depend on stored state, not on the body's shape: auth's
# codes for a token that is not (or no longer) valid, a password or 2FA code that is wrong, a
# code asked for because 2FA is on, and a password on its list of common ones.
STATE_CODES = {"token_invalid", "password_incorrect", "code_invalid", "code_required", "password_too_common"}
# The same from a backend's own status: a precondition (2FA not on, email already verified), or
# usage's rule that a sync reaches back no further than the plan's history from today.
STATE_KINDS = {"unprocessable-entity", "bad-request"}


# Credential fields that hold a document (a service account's JSON key file): the schema can say it
# is a JSON object but not what it must contain, so the catalog's own check judges it.
DOCUMENT_FIELDS = {
    f"fields.{field.name}" for platform in PLATFORMS.values() for field in platform.fields if field.check
}


# Budget and alert-settings rules that relate two fields, which a schema cannot state (a custom
# period's end after its start and at most 366 days; someone to tell; at least one threshold), and
# references to stored objects (a destination id of this account).
RELATION_FIELDS = {"start_date", "end_date", "email_owner", "thresholds", "destination_ids"}
# Alert recipients: the schema states an address's shape; email-validator, the check auth applies
# when it sends, also refuses what no pattern says well (special-use domains, malformed IDNA labels).
VALIDATOR_FIELDS = {"emails"}


def _state_refusal(response: Any) -> bool:
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return False
    problem = response.json()
    if problem.get("type", "").rsplit("/", 1)[-1] in STATE_KINDS:
        return True
    errors = problem.get("errors") or [{}]
    if all(error.get("field") in DOCUMENT_FIELDS | RELATION_FIELDS | VALIDATOR_FIELDS for error in errors):
        return True
    return {error.get("code") for error in errors} <= STATE_CODES


@schemathesis.check
def json_body_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' positive data acceptance (ST202) on the operations that take a JSON body (its
    schema is the validating model's): a body valid by the document is never refused by the
    gateway's validation or a backend's check of its shape. State refusals do not count."""
    body = case.operation.definition.raw.get("requestBody", {})
    if "application/json" not in body.get("content", {}) or _state_refusal(response):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    json_body_acceptance,
]


def _accepted_email(address: str) -> bool:
    try:
        TypeAdapter(Email).validate_python(address)
    except ValidationError:
        return False
    return True


# format: email as the API reads it (the Email type's description): public domains only.
schemathesis.openapi.format("email", st.emails().filter(_accepted_email))
# Ends every session of the fuzz user: fuzzed after everything else.
SESSION_ENDERS = "/v1/auth/logout-all"


@pytest.fixture(scope="module")
def fuzz_user(stack: Any) -> TestAccount:
    return new_account(stack)


@pytest.fixture(scope="module")
def fuzz_session() -> Iterator[requests.Session]:
    # Its own client address: the sign-in failures fuzzing causes are counted apart from the suite's.
    with session_from(random_loopback_ip()) as session:
        yield session


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Cases sent per operation; the totals are printed when the module is done."""
    cases: Counter[str] = Counter()
    started = time.monotonic()
    yield cases
    line = f"schemathesis: {len(cases)} operations, {cases.total()} cases, {time.monotonic() - started:.0f} s"
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\n{line}")


def _send(case: Any, stack: Any, user: TestAccount, session: requests.Session, tally: Counter[str]) -> None:
    tally[case.operation.label] += 1
    case.call_and_validate(
        base_url=stack.base_url, session=session, headers=user.headers, checks=CHECKS, timeout=60
    )


DOCUMENT = openapi.build(MODULES, "localhost")
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


def test_the_fuzzed_document_is_the_one_the_stack_serves(stack, http):
    served = http.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    assert {**served, "servers": None} == {**DOCUMENT, "servers": None}


@schema.exclude(path=SESSION_ENDERS).parametrize()
def test_api_answers_as_documented(case, stack, fuzz_user, fuzz_session, tally):
    _send(case, stack, fuzz_user, fuzz_session, tally)


@schema.include(path=SESSION_ENDERS).parametrize()
def test_session_ending_operations_answer_as_documented(case, stack, fuzz_user, fuzz_session, tally):
    _send(case, stack, fuzz_user, fuzz_session, tally)


def test_every_operation_was_fuzzed(tally):
    documented = {result.ok().label for result in schema.get_all_operations()}
    assert set(tally) == documented, sorted(documented ^ set(tally))
