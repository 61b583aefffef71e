"""gRPC servicer for aicosts.auth.v1: translates protos to domain calls."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from aicosts.auth.v1 import auth_pb2, auth_pb2_grpc
from svccommon.errors import FailedPrecondition, ServiceError
from svccommon.pbtime import timestamp
from svccommon.plans import effective_plan
from svccommon.runner import info_response

from auth import accounts, alerts, recovery, sessions, twofactor
from auth.billing import NOT_CONFIGURED, Payments, plan_changes
from auth.config import Config
from auth.core import Core, Doc


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Attach a domain error's metadata (bad field, retry-after) before the interceptor aborts."""

    @functools.wraps(method)
    def wrapper(self: AuthServicer, request: Any, context: Any) -> Any:
        try:
            return method(self, request, context)
        except ServiceError as exc:
            metadata = getattr(exc, "metadata", None)
            if metadata:
                context.set_trailing_metadata(metadata)
            raise

    return wrapper


def account_message(doc: Doc) -> auth_pb2.Account:
    created = timestamp(doc["created_at"])
    return auth_pb2.Account(
        id=doc["_id"],
        email=doc["email"],
        name=doc["name"],
        role=doc.get("role", accounts.OWNER),
        email_verified=bool(doc.get("email_verified")),
        plan=doc.get("plan") or accounts.DEFAULT_PLAN,
        totp_enabled=bool((doc.get("totp") or {}).get("enabled")),
        created_at=created,
    )


def session_message(doc: Doc, caller_session_id: str) -> auth_pb2.Session:
    return auth_pb2.Session(
        id=doc["_id"],
        created_at=timestamp(doc["created_at"]),
        last_used_at=timestamp(doc.get("last_refresh_at")),
        expires_at=timestamp(doc["expires_at"]),
        user_agent=doc.get("user_agent") or "",
        client_ip=doc.get("ip") or "",
        current=doc["_id"] == caller_session_id,
    )


def token_pair(tokens: sessions.Tokens) -> auth_pb2.TokenPair:
    return auth_pb2.TokenPair(
        access_token=tokens.access_token, refresh_token=tokens.refresh_token, expires_in=tokens.expires_in
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):  # noqa: N802 (gRPC method names throughout)
    def __init__(self, cfg: Config, core: Core, payments: Payments | None = None) -> None:
        self.cfg = cfg
        self.core = core
        self.payments = payments

    def GetServiceInfo(self, request, context):  # noqa: N802
        return info_response(self.cfg.common)

    # --- accounts ---------------------------------------------------------------------------

    @rpc
    def Signup(self, request, context):  # noqa: N802
        accounts.signup(self.core, request.email, request.password, request.name)
        return auth_pb2.SignupResponse()

    @rpc
    def VerifyEmail(self, request, context):  # noqa: N802
        return auth_pb2.VerifyEmailResponse(
            account=account_message(accounts.verify_email(self.core, request.token))
        )

    @rpc
    def ResendVerification(self, request, context):  # noqa: N802
        accounts.resend_verification(self.core, request.account_id)
        return auth_pb2.ResendVerificationResponse()

    @rpc
    def GetAccount(self, request, context):  # noqa: N802
        return auth_pb2.GetAccountResponse(
            account=account_message(accounts.require(self.core, request.account_id))
        )

    @rpc
    def UpdateAccount(self, request, context):  # noqa: N802
        doc = accounts.update_name(self.core, request.account_id, request.name)
        return auth_pb2.UpdateAccountResponse(account=account_message(doc))

    # --- sessions ---------------------------------------------------------------------------

    @rpc
    def Login(self, request, context):  # noqa: N802
        result = sessions.login(self.core, request.email, request.password)
        if result.mfa_token is not None:
            return auth_pb2.LoginResponse(mfa_token=result.mfa_token)
        assert result.tokens is not None
        return auth_pb2.LoginResponse(tokens=token_pair(result.tokens))

    @rpc
    def CompleteMfaLogin(self, request, context):  # noqa: N802
        tokens = sessions.complete_mfa(self.core, request.mfa_token, request.code)
        return auth_pb2.CompleteMfaLoginResponse(tokens=token_pair(tokens))

    @rpc
    def Refresh(self, request, context):  # noqa: N802
        return auth_pb2.RefreshResponse(tokens=token_pair(sessions.refresh(self.core, request.refresh_token)))

    @rpc
    def Logout(self, request, context):  # noqa: N802
        sessions.logout(self.core, request.refresh_token)
        return auth_pb2.LogoutResponse()

    @rpc
    def LogoutAll(self, request, context):  # noqa: N802
        sessions.logout_all(self.core, request.account_id)
        return auth_pb2.LogoutAllResponse()

    @rpc
    def CheckSession(self, request, context):  # noqa: N802
        active = sessions.check_session(
            self.core, request.account_id, request.session_id, request.token_version
        )
        return auth_pb2.CheckSessionResponse(active=active)

    @rpc
    def ListSessions(self, request, context):  # noqa: N802
        docs = sessions.list_sessions(self.core, request.account_id)
        return auth_pb2.ListSessionsResponse(sessions=[session_message(d, request.session_id) for d in docs])

    @rpc
    def EndSession(self, request, context):  # noqa: N802
        sessions.end_session(self.core, request.account_id, request.target_session_id, request.session_id)
        return auth_pb2.EndSessionResponse()

    @rpc
    def EndOtherSessions(self, request, context):  # noqa: N802
        ended = sessions.end_other_sessions(self.core, request.account_id, request.session_id)
        return auth_pb2.EndOtherSessionsResponse(ended=ended)

    # --- passwords --------------------------------------------------------------------------

    @rpc
    def ChangePassword(self, request, context):  # noqa: N802
        recovery.change_password(
            self.core, request.account_id, request.session_id, request.current_password, request.new_password
        )
        return auth_pb2.ChangePasswordResponse()

    @rpc
    def RequestPasswordReset(self, request, context):  # noqa: N802
        recovery.request_reset(self.core, request.email)
        return auth_pb2.RequestPasswordResetResponse()

    @rpc
    def ConfirmPasswordReset(self, request, context):  # noqa: N802
        recovery.confirm_reset(self.core, request.token, request.new_password, request.code)
        return auth_pb2.ConfirmPasswordResetResponse()

    # --- two-factor -------------------------------------------------------------------------

    @rpc
    def SetupTotp(self, request, context):  # noqa: N802
        setup = twofactor.setup(self.core, request.account_id, request.password)
        return auth_pb2.SetupTotpResponse(
            secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg
        )

    @rpc
    def ConfirmTotp(self, request, context):  # noqa: N802
        codes = twofactor.confirm(
            self.core, request.account_id, request.session_id, request.password, request.code
        )
        return auth_pb2.ConfirmTotpResponse(backup_codes=codes)

    @rpc
    def DisableTotp(self, request, context):  # noqa: N802
        twofactor.disable(self.core, request.account_id, request.session_id, request.password, request.code)
        return auth_pb2.DisableTotpResponse()

    @rpc
    def RegenerateBackupCodes(self, request, context):  # noqa: N802
        codes = twofactor.regenerate_backup_codes(
            self.core, request.account_id, request.session_id, request.password, request.code
        )
        return auth_pb2.RegenerateBackupCodesResponse(backup_codes=codes)

    # --- plans and payments -----------------------------------------------------------------

    def _payments(self) -> Payments:
        if self.payments is None:
            raise FailedPrecondition(NOT_CONFIGURED)
        return self.payments

    @rpc
    def CreateCheckoutSession(self, request, context):  # noqa: N802
        session = self._payments().billing.checkout(request.account_id, request.plan)
        return auth_pb2.CreateCheckoutSessionResponse(url=session.url, session_id=session.id)

    @rpc
    def CreatePortalSession(self, request, context):  # noqa: N802
        return auth_pb2.CreatePortalSessionResponse(url=self._payments().billing.portal(request.account_id))

    @rpc
    def HandleStripeWebhook(self, request, context):  # noqa: N802
        result = self._payments().webhooks.handle(request.payload, request.signature)
        return auth_pb2.HandleStripeWebhookResponse(
            event_id=result.event_id,
            event_type=result.event_type,
            result=result.result,
            account_id=result.account_id,
            plan=result.plan,
            previous_plan=result.previous_plan,
            plan_changed=result.plan_changed,
        )

    @rpc
    def ListPlanChanges(self, request, context):  # noqa: N802
        after = None
        if request.HasField("after_changed_at"):
            after = (request.after_changed_at.ToDatetime(dt.UTC), request.after_account_id)
        changes = plan_changes(self._payments().billing.store, after, request.limit)
        return auth_pb2.ListPlanChangesResponse(
            changes=[
                auth_pb2.PlanChange(
                    account_id=c["_id"],
                    plan=effective_plan(c.get("plan")).id,
                    changed_at=timestamp(c["plan_changed_at"]),
                )
                for c in changes
            ]
        )

    # --- alert emails (caller: usage) -------------------------------------------------------

    @rpc
    def SendAlertEmail(self, request, context):  # noqa: N802
        delivery = alerts.send_alert_email(
            self.core,
            request.account_id,
            to_owner=request.to_owner,
            to=list(request.to),
            subject=request.subject,
            text=request.text,
            key=request.idempotency_key,
        )
        return auth_pb2.SendAlertEmailResponse(
            sent_to=delivery.sent_to, already_sent_to=delivery.already_sent_to
        )
