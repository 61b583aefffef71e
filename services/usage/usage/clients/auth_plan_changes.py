"""auth's plan changes (ListPlanChanges), the feed usage's reconciler follows to pause and resume
scheduled syncs when a plan changes. (An account's current plan comes from svccommon.accountinfo.)"""

from __future__ import annotations

import datetime as dt

from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from svccommon.channels import Backend, secure_channel
from svccommon.config import TlsFiles
from svccommon.pbtime import timestamp

from usage.changes import PlanChange

AUTH_SERVICE = "aicosts.auth.v1.AuthService"


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
