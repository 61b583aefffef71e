"""Provider credentials: store a key encrypted (when the account's plan and verified state admit
one more, keyvault/admission.py), list/get/delete metadata, set status, and reveal the plaintext
to the usage service alone (every reveal, allowed or not, is audited)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

from svccommon import platforms
from svccommon.audit import AuditLog, Outcome
from svccommon.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
    Unavailable,
)
from svccommon.standing import Standing

from keyvault import crypto, policy, sealfloor
from keyvault.admission import admit_new_key
from keyvault.crypto import Context, DecryptionError
from keyvault.keyring import KeyVersionRetired, UnknownKeyVersion
from keyvault.keys import KeyringSource, KeyVersionNotLoaded
from keyvault.store import STATUSES, CredentialChange, CredentialRecord, CredentialStore

log = logging.getLogger(__name__)

MAX_LABEL = 100
MAX_STATUS_MESSAGE = 500
DEFAULT_CHANGES_PAGE, MAX_CHANGES_PAGE = 100, 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _context(record_id: str, account_id: str, platform: str) -> Context:
    return Context(
        account_id=account_id, record_id=record_id, platform=platform, purpose=policy.CREDENTIAL_PURPOSE
    )


def clean_text(value: str, name: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidArgument(f"{name} must be at most {limit} characters")
    if not value.isprintable():
        raise InvalidArgument(f"{name} must not contain control characters or line breaks")
    return value


class CredentialVault:
    def __init__(
        self,
        store: CredentialStore,
        keys: KeyringSource,
        audit: AuditLog,
        max_per_account: int,
        clock: Callable[[], dt.datetime] = _now,
        *,
        standing_of: Callable[[str], Standing],  # the account's plan and verified state (auth)
    ) -> None:
        self.standing_of = standing_of
        self.store = store
        self.keys = keys
        self.audit = audit
        self.max_per_account = max_per_account
        self.clock = clock

    def _admit(self, standing: Standing, held: int) -> None:
        admit_new_key(standing, held)
        if held >= self.max_per_account:  # a safety cap on every plan, even an unlimited one
            raise FailedPrecondition(
                f"an account can hold at most {self.max_per_account} credentials; delete one first"
            )

    def store_key(
        self,
        caller: str,
        account_id: str,
        platform: str,
        api_key: str,
        label: str,
        fields: dict[str, str] | None = None,
    ) -> CredentialRecord:
        """Store one key, or (``fields``) a multi-field credential as one secret: the canonical
        JSON document of its fields. Either is validated for the platform first."""
        policy.check_account_id(account_id)
        try:
            # keyvault never stores garbage
            if fields:
                if api_key:
                    raise platforms.InvalidKey("send either api_key or fields, not both")
                api_key = platforms.validate_fields(platform, fields)
            else:
                platforms.validate_key(platform, api_key)
            last4 = platforms.credential_last4(platform, api_key)
        except platforms.InvalidKey as exc:
            raise InvalidArgument(exc.message) from None
        label = clean_text(label, "label", MAX_LABEL) or platforms.get_platform(platform).name
        # Asked after the cheap checks above, so a malformed key never costs a call to auth.
        standing = self.standing_of(account_id)
        self._admit(standing, self.store.count_for_account(account_id))
        sealfloor.check_sealed(self.store, self.keys.current().current_version)  # and again once stored
        record_id = uuid.uuid4().hex
        now = self.clock()
        ciphertext = self.keys.seal(_context(record_id, account_id, platform), api_key.encode())
        record = CredentialRecord(
            id=record_id,
            account_id=account_id,
            platform=platform,
            label=label,
            last4=last4,
            ciphertext=ciphertext,
            key_version=crypto.key_version_of(ciphertext),
            status="active",
            status_message="",
            created_at=now.replace(microsecond=now.microsecond // 1000 * 1000),  # Mongo keeps ms
            last_used_at=None,
            last_sync_at=None,
        )
        self.store.insert(record)
        try:  # again with the key in place: of two stores racing past one count, the later loses
            self._admit(standing, self.store.count_before(account_id, record.created_at, record_id))
        except ServiceError:
            self.store.remove(account_id, record_id)
            raise
        try:
            sealfloor.check_sealed(self.store, record.key_version)
        except Unavailable:
            self.store.remove(account_id, record_id)  # sealed under a version being retired
            log.warning("sealed under a retiring key version", extra={"key_version": record.key_version})
            raise
        try:
            self.audit.record(
                "credential.create",
                account_id=account_id,
                actor=f"account:{account_id}",
                target_type="credential",
                target_id=record_id,
                details={"platform": platform, "via": caller, "key_version": record.key_version},
            )
        except Exception:
            self.store.remove(account_id, record_id)  # no stored key without its audit event
            raise
        return record

    def of_account(self, account_id: str) -> list[CredentialRecord]:
        return self.store.list_for_account(policy.check_account_id(account_id))

    def get(self, account_id: str, credential_id: str) -> CredentialRecord:
        record = self.store.get_for_account(
            policy.check_account_id(account_id), policy.check_credential_id(credential_id)
        )
        if record is None:
            raise NotFound("credential not found")
        return record

    def delete(self, caller: str, account_id: str, credential_id: str) -> None:
        policy.check_account_id(account_id)
        if self.store.get_for_account(account_id, policy.check_credential_id(credential_id)) is None:
            raise NotFound("credential not found")
        # Audited first: if the event cannot be written, the key is not deleted either.
        self.audit.record(
            "credential.delete",
            account_id=account_id,
            actor=f"account:{account_id}",
            target_type="credential",
            target_id=credential_id,
            details={"via": caller},
        )
        if not self.store.delete(account_id, credential_id, self.clock()):
            raise NotFound("credential not found")  # a concurrent delete won

    def changes(self, after: tuple[dt.datetime, str] | None, limit: int) -> list[CredentialChange]:
        """Stored and deleted credentials in change order (usage's reconciler follows them)."""
        if not 0 <= limit <= MAX_CHANGES_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_CHANGES_PAGE}")
        if after is not None and after[1] and not policy.valid_credential_id(after[1]):
            raise InvalidArgument("after_credential_id is malformed")
        return self.store.changes_after(after, limit or DEFAULT_CHANGES_PAGE)

    def update_status(
        self,
        account_id: str,
        credential_id: str,
        status: str,
        status_message: str,
        last_sync_at: dt.datetime | None,
    ) -> CredentialRecord:
        if status not in STATUSES:
            raise InvalidArgument(f"status must be one of {', '.join(STATUSES)}")
        message = clean_text(status_message, "status_message", MAX_STATUS_MESSAGE)
        record = self.store.update_status(
            policy.check_account_id(account_id),
            policy.check_credential_id(credential_id),
            status,
            message,
            last_sync_at,
        )
        if record is None:
            raise NotFound("credential not found")
        return record

    def reveal(self, caller: str, account_id: str, credential_id: str) -> tuple[str, str]:
        """(platform, plaintext key) for the usage service; audited whatever the outcome."""

        def deny(reason: str, owner: str | None, message: str) -> PermissionDenied:
            self._audit_reveal(
                "denied",
                owner,
                credential_id,
                caller,
                {"reason": reason, "requested_account_id": account_id[:128]},
            )
            return PermissionDenied(message)

        if not policy.may_reveal(caller):
            owner = account_id if policy.valid_account_id(account_id) else None
            raise deny("caller_not_allowed", owner, f"service {caller!r} may not reveal credentials")
        policy.check_account_id(account_id)
        try:
            policy.check_credential_id(credential_id)
        except NotFound:
            self._audit_reveal("failure", account_id, credential_id, caller, {"reason": "not_found"})
            raise
        record = self.store.get(credential_id)
        if record is None:
            self._audit_reveal("failure", account_id, credential_id, caller, {"reason": "not_found"})
            raise NotFound("credential not found")
        if record.account_id != account_id:
            # Audited under the owner's account: they can see someone tried.
            raise deny(
                "other_account", record.account_id, "the credential does not belong to the named account"
            )
        try:
            plaintext = self._open(record)
        except _RevealFailed as failed:
            log.error(
                "credential cannot be decrypted", extra={"credential_id": record.id, "reason": failed.reason}
            )
            self._audit_reveal("failure", account_id, credential_id, caller, {"reason": failed.reason})
            raise failed.error from None
        self.store.touch_used(record.id, self.clock())
        self._audit_reveal("success", account_id, credential_id, caller, {"key_version": record.key_version})
        return record.platform, plaintext.decode("utf-8")

    def _open(self, record: CredentialRecord) -> bytes:
        """The plaintext key, or _RevealFailed with an audit reason and the error for the caller.

        Only two failures are told apart for the caller: a retired key version (an operator's
        doing, and the version is in the clear header anyway) and a rotation still reaching this
        replica. Anything else about the blob, including a changed header, is one opaque error.
        """
        context = _context(record.id, record.account_id, record.platform)
        try:
            if crypto.key_version_of(record.ciphertext) != record.key_version:
                raise _RevealFailed("header_mismatch", FailedPrecondition(_OPAQUE))
            return self.keys.unseal(context, record.ciphertext)
        except KeyVersionNotLoaded as exc:
            message = f"key version {exc.version} is not loaded here yet; retry shortly"
            raise _RevealFailed("key_version_not_loaded", Unavailable(message)) from None
        except KeyVersionRetired as exc:
            raise _RevealFailed(
                "key_version_retired", FailedPrecondition(_retired_message(exc.version))
            ) from None
        except UnknownKeyVersion:
            raise _RevealFailed("key_version_unknown", FailedPrecondition(_OPAQUE)) from None
        except DecryptionError:
            raise _RevealFailed("decryption_failed", FailedPrecondition(_OPAQUE)) from None

    def _audit_reveal(
        self, outcome: Outcome, account_id: str | None, credential_id: str, caller: str, details: dict
    ) -> None:
        self.audit.record(
            "credential.reveal",
            outcome=outcome,
            account_id=account_id,
            actor=f"service:{caller}",
            target_type="credential",
            target_id=credential_id[:64],
            details=details,
        )


class _RevealFailed(Exception):
    def __init__(self, reason: str, error: Exception) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


_OPAQUE = "the stored key cannot be decrypted; delete the credential and add the key again"


def _retired_message(version: int) -> str:
    return (
        f"this credential was encrypted under key version {version}, which has been retired; "
        "add the key again (operators: run the rewrap job before retiring a version)"
    )
