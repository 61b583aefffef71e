"""Sign-in and sessions. A session is one sign-in: an Ed25519 access JWT (10 minutes) plus an
opaque refresh token, stored hashed and rotated on every use. Presenting an already-rotated refresh
token revokes the whole session (token family). The account's token_version ends every session
at once (logout-all, password reset). The account's owner can list its live sessions (with the
user agent and client address of their sign-in) and end any of them."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from svccommon import context
from svccommon.access_tokens import hash_token, issue_access_token, new_opaque_token
from svccommon.audit import Outcome
from svccommon.errors import InvalidArgument, NotFound, Unauthenticated

from auth.accounts import expired_unverified
from auth.core import Core, Doc, client_ip, lookup_key
from auth.errors import BAD_CODE, Throttled, bad_credentials
from auth.second_factor import WrongCode, check_code, totp_on

MFA_CHALLENGE_TTL_S = 300
MFA_MAX_FAILURES = 5  # the 5th wrong code locks the challenge; a new sign-in is needed
BAD_REFRESH = "The refresh token is invalid or expired. Sign in again."
CHALLENGE_GONE = "This sign-in attempt has expired or is locked after too many wrong codes. Sign in again."
NO_SUCH_SESSION = "No such session: it has ended, or it is not one of this account's sessions."
MAX_LISTED_SESSIONS = 200  # newest first; older live sessions still end with sign-out-others
MAX_USER_AGENT = 512
MAX_CLIENT_IP = 64  # an IPv6 address with a zone id fits
_SESSION_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class LoginResult:
    tokens: Tokens | None = None
    mfa_token: str | None = None


def login(core: Core, email: str, password: str) -> LoginResult:
    key, ip, now = lookup_key(email), client_ip(), core.utcnow()
    try:
        attempt = core.limiter.reserve(key, ip, now)  # atomically, before any bcrypt work
    except Throttled:
        core.record("session.login", "denied", anonymous=True, reason="rate_limited")
        raise
    try:
        account = core.stores.accounts.by_email_key(key)
        if account is not None and expired_unverified(account, now):
            account = None  # never confirmed: as good as gone (the TTL index deletes it)
        if account is None:
            core.hasher.dummy_verify()  # same bcrypt work as a real check (ASVS 6.3.8)
            ok = False
        else:
            ok = core.hasher.verify(password, account["password_hash"])
    except BaseException:
        core.limiter.abandoned(attempt, now)
        raise
    if not ok or account is None:  # ok is only ever True for a found account
        core.limiter.failed(attempt, core.utcnow())
        account_id = account["_id"] if account else None
        core.record(
            "session.login", "failure", account_id=account_id, anonymous=True, reason="bad_credentials"
        )
        raise bad_credentials()

    if core.hasher.needs_rehash(account["password_hash"]):
        core.stores.accounts.rehash(account["_id"], account["password_hash"], core.hasher.hash(password), now)
    if totp_on(account):
        # Earlier failures stay counted until a session is issued, so MFA guesses share the limit.
        core.limiter.succeeded(attempt, now, forgive=False)
        token = new_opaque_token()
        core.stores.tokens.insert(
            hash_token(token), "mfa_challenge", account["_id"], now, MFA_CHALLENGE_TTL_S
        )
        core.record(
            "session.login", "success", account_id=account["_id"], stage="password", mfa_required=True
        )
        return LoginResult(mfa_token=token)
    core.limiter.succeeded(attempt, now)
    tokens = start_session(core, account, "password")
    return LoginResult(tokens=tokens)


def complete_mfa(core: Core, mfa_token: str, code: str) -> Tokens:
    token_hash, now, ip = hash_token(mfa_token), core.utcnow(), client_ip()
    challenge = core.stores.tokens.find_live(token_hash, "mfa_challenge", now) if mfa_token else None
    account = core.stores.accounts.get(challenge["account_id"]) if challenge else None
    if challenge is None or account is None or not totp_on(account):
        core.record("session.mfa_challenge", "failure", anonymous=True, reason="challenge_invalid")
        raise Unauthenticated(CHALLENGE_GONE)
    key = account["email_key"]
    attempt = core.limiter.reserve(key, ip, now)
    try:
        method = check_code(core, account, code)
    except WrongCode as exc:
        core.limiter.failed(attempt, core.utcnow())
        doc = core.stores.tokens.add_failure(token_hash, MFA_MAX_FAILURES, now)
        locked = bool(doc and doc.get("locked"))
        reason = "locked" if locked else ("replay" if exc.replay else "wrong_code")
        outcome: Outcome = "denied" if locked else "failure"
        core.record(
            "session.mfa_challenge", outcome, account_id=account["_id"], anonymous=True, reason=reason
        )
        raise Unauthenticated(CHALLENGE_GONE if locked else BAD_CODE) from None
    except BaseException:
        core.limiter.abandoned(attempt, now)
        raise
    if core.stores.tokens.spend(token_hash, "mfa_challenge", now) is None:
        core.limiter.abandoned(attempt, now)
        raise Unauthenticated(CHALLENGE_GONE)  # spent by a concurrent request
    core.limiter.succeeded(attempt, now)
    core.record("session.mfa_challenge", account_id=account["_id"], method=method)
    return start_session(core, account, method)


def start_session(core: Core, account: Doc, method: str) -> Tokens:
    now = core.utcnow()
    ctx = context.current()
    session = {
        "_id": uuid.uuid4().hex,
        "account_id": account["_id"],
        "token_version": account.get("token_version", 0),
        "created_at": now,
        "expires_at": now + dt.timedelta(seconds=core.session_ttl_s),
        "revoked_at": None,
        "method": method,
        "ip": ctx.client_ip[:MAX_CLIENT_IP] or None,
        "user_agent": ctx.user_agent[:MAX_USER_AGENT] or None,
    }
    core.stores.sessions.create(session)
    core.record(
        "session.login",
        account_id=account["_id"],
        target_type="session",
        target_id=session["_id"],
        method=method,
    )
    return _issue(core, session)


def _issue(core: Core, session: Doc) -> Tokens:
    refresh = new_opaque_token()
    core.stores.sessions.add_refresh_token(hash_token(refresh), session, core.utcnow())
    access = issue_access_token(
        core.signing_key,
        session["account_id"],
        session["_id"],
        session["token_version"],
        core.now(),
        core.access_ttl_s,
    )
    return Tokens(access_token=access, refresh_token=refresh, expires_in=core.access_ttl_s)


def live(session: Doc | None, account: Doc | None, now: dt.datetime) -> bool:
    return (
        session is not None
        and account is not None
        and session["account_id"] == account["_id"]
        and session.get("revoked_at") is None
        and session["expires_at"] > now
        and session["token_version"] == account.get("token_version", 0)
    )


def refresh(core: Core, refresh_token: str) -> Tokens:
    token_hash, now = hash_token(refresh_token), core.utcnow()
    record = core.stores.sessions.find_refresh_token(token_hash) if refresh_token else None
    if record is None or record["expires_at"] <= now:
        raise Unauthenticated(BAD_REFRESH)
    if record["rotated_at"] is not None or core.stores.sessions.spend_refresh_token(token_hash, now) is None:
        _reuse_detected(core, record)
        raise Unauthenticated(BAD_REFRESH)
    session = core.stores.sessions.get(record["session_id"])
    account = core.stores.accounts.get(record["account_id"])
    if session is None or not live(session, account, now):
        raise Unauthenticated(BAD_REFRESH)
    core.stores.sessions.touch(session["_id"], now)
    return _issue(core, session)


def _reuse_detected(core: Core, record: Doc) -> None:
    # A rotated token came back: it was copied. Kill the family, so neither copy works (OAuth BCP).
    core.stores.sessions.revoke(record["session_id"], core.utcnow(), "refresh_token_reuse")
    core.record(
        "session.refresh_token_reuse",
        "denied",
        account_id=record["account_id"],
        anonymous=True,
        target_type="session",
        target_id=record["session_id"],
    )


def logout(core: Core, refresh_token: str) -> None:
    record = core.stores.sessions.find_refresh_token(hash_token(refresh_token)) if refresh_token else None
    if record is None:
        return  # idempotent, and says nothing about the token (RFC 7009 §2.2)
    if core.stores.sessions.revoke(record["session_id"], core.utcnow(), "logout"):
        core.record(
            "session.logout",
            account_id=record["account_id"],
            target_type="session",
            target_id=record["session_id"],
        )


def logout_all(core: Core, account_id: str, reason: str = "logout_all") -> None:
    now = core.utcnow()
    if core.stores.accounts.bump_token_version(account_id, now) is None:
        return
    core.stores.sessions.revoke_all(account_id, now, reason)
    core.stores.tokens.spend_all(account_id, "mfa_challenge", now)
    core.record("session.logout_all", account_id=account_id)


def check_session(core: Core, account_id: str, session_id: str, token_version: int) -> bool:
    now = core.utcnow()
    session = core.stores.sessions.get(session_id)
    account = core.stores.accounts.get(account_id)
    return (
        live(session, account, now)
        and account is not None
        and account.get("token_version", 0) == token_version
    )


# --- the owner's view of the account's sessions --------------------------------------------------


def list_sessions(core: Core, account_id: str) -> list[Doc]:
    """The account's live sessions, newest first (at most MAX_LISTED_SESSIONS)."""
    account = core.stores.accounts.get(account_id) if account_id else None
    if account is None:
        return []
    version = account.get("token_version", 0)
    return core.stores.sessions.live_of(account_id, version, core.utcnow(), MAX_LISTED_SESSIONS)


def end_session(core: Core, account_id: str, session_id: str, caller_session_id: str) -> None:
    """End one live session of the account (the caller's own too). NOT_FOUND for anything else,
    the same for an ended session, a made-up id and another account's session."""
    account = core.stores.accounts.get(account_id) if account_id else None
    if account is None or not _SESSION_ID.fullmatch(session_id):
        raise NotFound(NO_SUCH_SESSION)
    version = account.get("token_version", 0)
    if not core.stores.sessions.revoke_live(session_id, account_id, version, core.utcnow(), "ended"):
        raise NotFound(NO_SUCH_SESSION)
    core.record(
        "session.end",
        account_id=account_id,
        target_type="session",
        target_id=session_id,
        reason="ended",
        own=session_id == caller_session_id,
    )


def end_other_sessions(core: Core, account_id: str, caller_session_id: str) -> int:
    """End every live session of the account except the caller's; how many ended. Each one is
    revoked by its own conditional update, so each audit event names a session this call ended."""
    if not caller_session_id:
        raise InvalidArgument("session_id is required: the caller's session stays")
    account = core.stores.accounts.get(account_id) if account_id else None
    if account is None:
        return 0
    version, now = account.get("token_version", 0), core.utcnow()
    ended = 0
    for session in core.stores.sessions.live_of(account_id, version, now, 0):
        if session["_id"] == caller_session_id:
            continue
        if core.stores.sessions.revoke_live(session["_id"], account_id, version, now, "sign_out_others"):
            core.record(
                "session.end",
                account_id=account_id,
                target_type="session",
                target_id=session["_id"],
                reason="sign_out_others",
                own=False,
            )
            ended += 1
    return ended
