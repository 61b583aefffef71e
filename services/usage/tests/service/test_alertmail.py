"""usage/clients/auth_mail.py: what reaches auth, what a caller gets back, and which of auth's refusals are
worth retrying. The real gRPC edge (usage may call, the gateway may not) is tested in
tests/integration/test_auth_grpc.py; here auth's answers are stand-ins."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2
from usage.clients.auth_mail import AlertMailError, AuthAlertMailer


class Refusal(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str, metadata: tuple = ()) -> None:
        self._code, self._details, self._metadata = code, details, metadata

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple:
        return self._metadata


class Auth:
    """Answers SendAlertEmail with `answer` (a response, or a Refusal to raise)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, Any]] = []

    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        self.calls.append((method, request))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def send(auth: Auth) -> list[str]:
    mailer = AuthAlertMailer(auth)  # type: ignore[arg-type]
    return mailer.send(
        "acct-1", to_owner=True, to=["ops@example.org"], subject="Budget at 80%", text="Spent.", key="b:80"
    )


def test_the_request_and_the_addresses_that_have_the_alert() -> None:
    auth = Auth(
        auth_pb2.SendAlertEmailResponse(sent_to=["ops@example.org"], already_sent_to=["me@example.org"])
    )
    assert send(auth) == ["ops@example.org", "me@example.org"]
    [(method, request)] = auth.calls
    assert method == "SendAlertEmail"
    assert (request.account_id, request.to_owner, list(request.to)) == ("acct-1", True, ["ops@example.org"])
    assert (request.subject, request.text, request.idempotency_key) == ("Budget at 80%", "Spent.", "b:80")


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (grpc.StatusCode.UNAVAILABLE, True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, True),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, True),
        (grpc.StatusCode.FAILED_PRECONDITION, False),
        (grpc.StatusCode.INVALID_ARGUMENT, False),
        (grpc.StatusCode.NOT_FOUND, False),
        (grpc.StatusCode.PERMISSION_DENIED, False),
    ],
)
def test_which_refusals_are_worth_retrying(code: grpc.StatusCode, retryable: bool) -> None:
    with pytest.raises(AlertMailError) as caught:
        send(Auth(Refusal(code, "auth's reason")))
    assert caught.value.retryable is retryable
    assert code.name in str(caught.value) and "auth's reason" in str(caught.value)
    assert caught.value.retry_after_s is None


def test_the_daily_cap_says_when_to_try_again() -> None:
    refusal = Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, "limit reached", (("retry-after", "3600"),))
    with pytest.raises(AlertMailError) as caught:
        send(Auth(refusal))
    assert caught.value.retryable and caught.value.retry_after_s == 3600
