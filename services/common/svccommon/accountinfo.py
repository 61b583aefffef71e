"""An account's plan and verified state, from auth (which owns both), for the services that gate
their own actions: keyvault (how many provider keys, verified only), usage (history, CSV export,
alert features) and parser (AI parsing, verified only). Asked at the moment of the action, never
cached, so an upgrade or a confirmed address counts at once.

When auth does not answer, a caller may stand in the plan it last heard of (usage keeps one);
otherwise the call fails as unavailable rather than guess: guessing Free would refuse a paid
account, guessing verified would let an unconfirmed one through."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc

from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.errors import NotFound, Unavailable
from svccommon.plans import Plan, effective_plan
from svccommon.standing import Standing

log = logging.getLogger(__name__)
AUTH_SERVICE = "aicosts.auth.v1.AuthService"
UNAVAILABLE = "the account service did not answer; try again shortly"

# The plan id last heard of for an account, or None (never heard of).
PlanFallback = Callable[[str], "str | None"]


class AccountInfo:
    def __init__(self, backend: Backend, fallback: PlanFallback | None = None) -> None:
        self.backend = backend
        self.fallback = fallback

    @classmethod
    def connect(
        cls, address: str, tls: TlsFiles, fallback: PlanFallback | None = None, timeout_s: float = 5.0
    ) -> AccountInfo:
        channel = secure_channel(address, tls, AUTH_SERVICE, ("GetAccount",))
        return cls(Backend(channel, auth_pb2_grpc.AuthServiceStub, timeout_s), fallback)

    def close(self) -> None:
        self.backend.channel.close()

    def standing_of(self, account_id: str) -> Standing:
        """Plan and verified state, both from auth now; no stand-in for the verified state."""
        account = self._account(account_id)
        if account is None:
            raise Unavailable(UNAVAILABLE)
        return Standing(effective_plan(account.plan), account.email_verified)

    def plan_of(self, account_id: str) -> Plan:
        """The plan from auth; while auth does not answer, the fallback's last known plan."""
        account = self._account(account_id)
        if account is not None:
            return effective_plan(account.plan)
        known = self.fallback(account_id) if self.fallback is not None else None
        if known is None:
            raise Unavailable(UNAVAILABLE)
        log.warning("plan from auth unavailable; using the last known")
        return effective_plan(known)

    def _account(self, account_id: str) -> auth_pb2.Account | None:
        """auth's account, or None when auth does not answer."""
        try:
            return self.backend.call("GetAccount", auth_pb2.GetAccountRequest(account_id=account_id)).account
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            if code == grpc.StatusCode.NOT_FOUND:  # no such account: nothing to gate for anyone
                raise NotFound("account not found") from None
            log.warning("account from auth unavailable", extra={"grpc_code": getattr(code, "name", "?")})
            return None
