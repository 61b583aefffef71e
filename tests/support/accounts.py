"""Accounts for gateway tests.

Until the auth service issues sessions, tests mint access tokens with the stack's development
signing key (exactly the claims auth will issue). The auth work replaces `new_account` with the
real signup → verify → login flow through the gateway; tests only depend on this interface."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from svccommon.access_tokens import issue_access_token, load_private_key


@dataclass(frozen=True)
class TestAccount:
    account_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def new_account(stack) -> TestAccount:
    key = load_private_key((stack.var_dir / "secrets" / "auth" / "jwt_signing_key.pem").read_bytes())
    account_id = uuid.uuid4().hex
    token = issue_access_token(key, account_id, uuid.uuid4().hex, 0, int(time.time()))
    return TestAccount(account_id=account_id, access_token=token)
