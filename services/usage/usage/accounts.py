"""The account's plan, from auth (which owns plans), for the actions usage gates itself: budgets,
alert channels and anomaly detection. When auth does not answer, the plan usage last heard of
(account_plans) stands in, so alert evaluation does not stop with auth; with none known, the call
fails as unavailable (evaluation is retried) rather than guess Free."""

from __future__ import annotations

import datetime as dt
import logging

import grpc
from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.errors import Unavailable
from svccommon.pbtime import timestamp
from svccommon.plans import Plan, effective_plan

from usage.changes import PlanChange
from usage.planstore import PlanStore

log = logging.getLogger(__name__)
AUTH_SERVICE = "aicosts.auth.v1.AuthService"


class AccountPlansFromAuth:
    def __init__(self, backend: Backend, fallback: PlanStore) -> None:
        self.backend = backend
        self.fallback = fallback

    @classmethod
    def connect(
        cls, address: str, tls: TlsFiles, fallback: PlanStore, timeout_s: float = 5.0
    ) -> AccountPlansFromAuth:
        channel = secure_channel(address, tls, AUTH_SERVICE, ("GetAccount",))
        return cls(Backend(channel, auth_pb2_grpc.AuthServiceStub, timeout_s), fallback)

    def plan_of(self, account_id: str) -> Plan:
        try:
            reply = self.backend.call("GetAccount", auth_pb2.GetAccountRequest(account_id=account_id))
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            known = self.fallback.plan_of(account_id)
            if known is None:  # never heard of: guessing Free could drop a paid account's channels
                raise Unavailable("the account service did not answer; try again shortly") from None
            log.warning(
                "plan from auth unavailable; using the last known",
                extra={"grpc_code": getattr(code, "name", "?")},
            )
            return effective_plan(known)
        return effective_plan(reply.account.plan)


class PlanChangesFromAuth:
    """auth's ListPlanChanges as the reconciler's feed of plan changes."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def connect(cls, address: str, tls: TlsFiles, timeout_s: float = 10.0) -> PlanChangesFromAuth:
        channel = secure_channel(address, tls, AUTH_SERVICE, ("ListPlanChanges",))
        return cls(Backend(channel, auth_pb2_grpc.AuthServiceStub, timeout_s))

    def after(self, position: tuple[dt.datetime, str] | None, limit: int) -> list[PlanChange]:
        request = auth_pb2.ListPlanChangesRequest(limit=limit)
        if position is not None:
            request.after_changed_at.CopyFrom(timestamp(position[0]))
            request.after_account_id = position[1]
        reply = self.backend.call("ListPlanChanges", request)
        return [PlanChange(c.account_id, c.plan, c.changed_at.ToDatetime(dt.UTC)) for c in reply.changes]
