"""The auth service's gRPC contract as other services see it: only the gateway may call the
account and session methods, except that the services that gate their own actions by plan and
verified state (usage, keyvault, parser) may read an account (GetAccount); only usage may send
alert emails (through usage's own client), and errors carry the documented trailing metadata."""

from __future__ import annotations

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from aicosts.common.v1 import service_info_pb2
from support import outbox
from support.accounts import new_account
from support.grpc_clients import channel_as, identity_files
from usage.clients.auth_mail import AlertMailError, AuthAlertMailer

# The services that ask auth for an account's plan and verified state (svccommon.accountinfo).
ACCOUNT_READERS = ("usage", "keyvault", "parser")


@pytest.fixture(scope="module")
def stub_as(stack, tmp_path_factory):
    channels = []

    def make(identity: str) -> auth_pb2_grpc.AuthServiceStub:
        files = identity_files(stack.var_dir / "secrets" / "tls", identity, tmp_path_factory.mktemp(identity))
        channel = channel_as(f"127.0.0.1:{stack.ports['auth']}", files)
        channels.append(channel)
        return auth_pb2_grpc.AuthServiceStub(channel)

    yield make
    for channel in channels:
        channel.close()


@pytest.mark.parametrize("identity", ["usage", "parser", "keyvault"])
def test_only_the_gateway_may_call_account_methods(stub_as, identity):
    stub = stub_as(identity)
    calls = [
        (stub.Login, auth_pb2.LoginRequest(email="a@example.com", password="x")),
        (stub.CheckSession, auth_pb2.CheckSessionRequest(account_id="a", session_id="s", token_version=0)),
        (stub.SetupTotp, auth_pb2.SetupTotpRequest(account_id="a")),
    ]
    if identity not in ACCOUNT_READERS:
        calls.append((stub.GetAccount, auth_pb2.GetAccountRequest(account_id="a")))
    for method, request in calls:
        with pytest.raises(grpc.RpcError) as caught:
            method(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert stub.GetServiceInfo(service_info_pb2.GetServiceInfoRequest(), timeout=5).service == "auth"


def test_only_usage_may_follow_plan_changes(stub_as):
    request = auth_pb2.ListPlanChangesRequest(limit=1)
    assert len(stub_as("usage").ListPlanChanges(request, timeout=5).changes) <= 1
    for identity in ("gateway", "parser", "keyvault"):
        with pytest.raises(grpc.RpcError) as caught:
            stub_as(identity).ListPlanChanges(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("identity", ACCOUNT_READERS)
def test_the_services_that_gate_actions_may_read_an_account_and_its_plan(stub_as, stack, identity):
    account = new_account(stack)
    reply = stub_as(identity).GetAccount(auth_pb2.GetAccountRequest(account_id=account.account_id), timeout=5)
    assert reply.account.id == account.account_id and reply.account.plan in ("", "free")
    assert reply.account.email_verified is True


@pytest.mark.parametrize("identity", ["intruder", "auth"])
def test_no_other_identity_may_read_an_account(stub_as, identity):
    with pytest.raises(grpc.RpcError) as caught:
        stub_as(identity).GetAccount(auth_pb2.GetAccountRequest(account_id="a"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture(scope="module")
def alert_mailer_as(stack, tmp_path_factory):
    """usage's alert-mail client (usage/clients/auth_mail.py), presenting the given identity."""
    mailers = []

    def make(identity: str) -> AuthAlertMailer:
        files = identity_files(stack.var_dir / "secrets" / "tls", identity, tmp_path_factory.mktemp(identity))
        mailer = AuthAlertMailer.connect(f"127.0.0.1:{stack.ports['auth']}", files, timeout_s=10)
        mailers.append(mailer)
        return mailer

    yield make
    for mailer in mailers:
        mailer.close()


def test_usage_may_send_an_alert_email_through_auth(stack, alert_mailer_as):
    account = new_account(stack)
    mailer = alert_mailer_as("usage")
    alert = {"subject": "Budget 'Team' at 90%", "text": "Spent $90.00 of $100.00.", "key": "it:budget:90"}
    assert mailer.send(account.account_id, to_owner=True, to=[], **alert) == [account.email]
    # Sent before the call answered (synchronously), not queued for later.
    [mail] = [m for m in outbox.messages(stack, account.email) if m.subject == "Budget 'Team' at 90%"]
    assert mail.text.startswith("Spent $90.00 of $100.00.\n")
    assert f"Manage them at {stack.base_url}/alerts." in mail.text

    # The same key again: reported as delivered, and no second email.
    assert mailer.send(account.account_id, to_owner=True, to=[], **alert) == [account.email]
    assert len(outbox.messages(stack, account.email)) == 2  # the verification email and the alert

    with pytest.raises(AlertMailError) as caught:
        mailer.send("no-such-account", to_owner=True, to=[], **alert)
    assert "NOT_FOUND" in str(caught.value) and not caught.value.retryable


@pytest.mark.parametrize("identity", ["gateway", "parser"])
def test_no_other_service_may_send_alert_emails(stack, alert_mailer_as, identity):
    account = new_account(stack)
    with pytest.raises(AlertMailError) as caught:
        alert_mailer_as(identity).send(
            account.account_id, to_owner=True, to=[], subject="Alert", text="Text", key=f"it:{identity}"
        )
    assert "PERMISSION_DENIED" in str(caught.value) and not caught.value.retryable
    assert [m.subject for m in outbox.messages(stack, account.email)] == [
        "Confirm your email address for AICosts"
    ]


def test_bad_field_is_named_in_trailing_metadata(stub_as):
    stub = stub_as("gateway")
    with pytest.raises(grpc.RpcError) as caught:
        stub.Signup(auth_pb2.SignupRequest(email="a@example.com", password="short", name="A"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    metadata = dict(caught.value.trailing_metadata())
    assert metadata["x-field"] == "password" and metadata["x-error-code"] == "password_too_short"


def test_check_session_answers_for_live_and_ended_sessions(stack, stub_as):
    import base64
    import json

    account = new_account(stack)
    claims = json.loads(base64.urlsafe_b64decode(account.access_token.split(".")[1] + "=="))
    stub = stub_as("gateway")
    live = auth_pb2.CheckSessionRequest(
        account_id=claims["sub"], session_id=claims["sid"], token_version=claims["ver"]
    )
    assert stub.CheckSession(live, timeout=5).active is True
    stale = auth_pb2.CheckSessionRequest(
        account_id=claims["sub"], session_id=claims["sid"], token_version=claims["ver"] + 1
    )
    assert stub.CheckSession(stale, timeout=5).active is False
    foreign = auth_pb2.CheckSessionRequest(
        account_id="someone-else", session_id=claims["sid"], token_version=claims["ver"]
    )
    assert stub.CheckSession(foreign, timeout=5).active is False
    stub.Logout(auth_pb2.LogoutRequest(refresh_token=account.refresh_token), timeout=5)
    assert stub.CheckSession(live, timeout=5).active is False
