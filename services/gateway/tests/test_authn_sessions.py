"""The gateway's session check: every authenticated request asks auth whether the token's session
is still live; only "ended" answers are cached; if auth cannot answer, nobody gets in."""

from __future__ import annotations

import time

import grpc
import pytest
from aicosts.auth.v1 import auth_pb2
from devstack import secrets
from flask import g, jsonify
from gateway import create_app
from gateway.authn import require_account
from gateway.config import load
from svccommon.access_tokens import issue_access_token, load_private_key


class Unreachable(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


class AuthStandIn:
    """Answers CheckSession from a set of live sessions, and counts the calls (a Backend's shape:
    `.call`, `.stub` and `.timeout_s`)."""

    timeout_s = 5.0

    def __init__(self) -> None:
        self.live: set[tuple[str, str, int]] = set()
        self.calls = 0
        self.down = False
        self.stub = self

    def call(self, method, request, timeout=None):
        # What svccommon.channels.Backend.call does: the default deadline, wait for ready.
        return getattr(self.stub, method)(request, timeout=timeout or self.timeout_s, wait_for_ready=True)

    def CheckSession(self, request, timeout=None, metadata=(), wait_for_ready=False):  # noqa: N802
        assert timeout is not None and wait_for_ready is True
        self.calls += 1
        if self.down:
            raise Unreachable()
        key = (request.account_id, request.session_id, request.token_version)
        return auth_pb2.CheckSessionResponse(active=key in self.live)


@pytest.fixture()
def setup(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    app = create_app(
        load({"TLS_DIR": str(paths["tls_dir"]), "GATEWAY_JWT_PUBLIC_KEY_FILE": str(paths["jwt_public"])})
    )
    auth = AuthStandIn()
    app.extensions["backends"] = {"auth": auth}

    @app.get("/whoami")
    @require_account
    def whoami():
        return jsonify(account_id=g.account_id)

    key = load_private_key(paths["jwt_private"].read_bytes())
    token = issue_access_token(key, "acct-1", "sess-1", 2, time.time())
    return app.test_client(), auth, {"Authorization": f"Bearer {token}"}


def test_live_session_is_checked_on_every_request(setup):
    client, auth, headers = setup
    auth.live.add(("acct-1", "sess-1", 2))
    for _ in range(3):
        response = client.get("/whoami", headers=headers)
        assert response.status_code == 200 and response.get_json() == {"account_id": "acct-1"}
    assert auth.calls == 3  # no positive cache: a logout takes effect on the very next request


def test_ended_session_is_401_and_remembered(setup):
    client, auth, headers = setup
    auth.live.add(("acct-1", "sess-1", 2))
    assert client.get("/whoami", headers=headers).status_code == 200
    auth.live.clear()  # logged out
    for _ in range(3):
        response = client.get("/whoami", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["detail"] == "the session has ended; log in again"
    assert auth.calls == 2  # the ended answer was cached


def test_auth_unreachable_fails_closed_with_503(setup):
    client, auth, headers = setup
    auth.down = True
    response = client.get("/whoami", headers=headers)
    assert response.status_code == 503 and response.mimetype == "application/problem+json"


def test_invalid_token_never_reaches_auth(setup):
    client, auth, _ = setup
    assert client.get("/whoami", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401
    assert auth.calls == 0
