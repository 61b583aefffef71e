"""svccommon.accountinfo against a real gRPC server speaking auth's protocol: auth's answer is
used as is, an unknown account is NOT_FOUND, and when auth does not answer the caller gets the
plan it last heard of (a fallback) or Unavailable, never a guess."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from devstack.ports import free_ports
from svccommon.accountinfo import AccountInfo
from svccommon.channels import Backend
from svccommon.errors import NotFound, Unavailable
from svccommon.plans import FREE, PROFESSIONAL

ACCOUNTS = {
    "pro": auth_pb2.Account(id="pro", plan="professional", email_verified=True),
    "new": auth_pb2.Account(id="new", plan="", email_verified=False),
}


class Accounts(auth_pb2_grpc.AuthServiceServicer):
    def GetAccount(self, request, context):  # noqa: N802
        if request.account_id not in ACCOUNTS:
            context.abort(grpc.StatusCode.NOT_FOUND, "The account does not exist.")
        return auth_pb2.GetAccountResponse(account=ACCOUNTS[request.account_id])


def client(port: int, fallback=None) -> AccountInfo:  # noqa: ANN001
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return AccountInfo(Backend(channel, auth_pb2_grpc.AuthServiceStub, timeout_s=1.0), fallback)


@pytest.fixture
def auth_port() -> Iterator[int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    auth_pb2_grpc.add_AuthServiceServicer_to_server(Accounts(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(grace=None)


def test_auths_answer_is_the_standing(auth_port: int) -> None:
    info = client(auth_port, fallback=lambda account_id: "free")
    assert info.standing_of("pro").plan is PROFESSIONAL and info.standing_of("pro").email_verified
    new = info.standing_of("new")
    assert new.plan is FREE and new.email_verified is False  # no plan yet: the default plan
    assert info.plan_of("pro") is PROFESSIONAL  # auth wins over the last known plan
    with pytest.raises(NotFound):
        info.standing_of("nobody")
    info.close()


def test_auth_down_uses_the_last_known_plan_or_is_unavailable() -> None:
    (nobody_listens,) = free_ports(1)
    known = {"pro": "professional"}
    info = client(nobody_listens, fallback=known.get)
    assert info.plan_of("pro") is PROFESSIONAL
    with pytest.raises(Unavailable):
        info.plan_of("never-heard-of")
    with pytest.raises(Unavailable):  # the verified state has no stand-in
        info.standing_of("pro")
    with pytest.raises(Unavailable):
        client(nobody_listens).plan_of("pro")  # no fallback at all
