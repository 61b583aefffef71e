"""Generic secrets of other services (auth's TOTP seeds): encrypt, decrypt and rewrap, bound to
(account, record, caller, purpose). A caller may use only its allowlisted purposes, and a
ciphertext sealed for one purpose (or caller, account, record) does not open under another.

Keyvault never stores these secrets, so it keeps a ledger of the key versions they are under
(for `keyvault.admin retire`): every seal and open notes its version, and the owner's census
(start, rewrap everything it holds, finish with its counts) replaces what was noted before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from svccommon.audit import AuditLog, Outcome
from svccommon.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable

from keyvault import crypto, policy, sealfloor
from keyvault.crypto import Context, DecryptionError
from keyvault.keyring import KeyVersionRetired, UnknownKeyVersion
from keyvault.keys import KeyringSource, KeyVersionNotLoaded
from keyvault.store import CredentialStore

MAX_PLAINTEXT = 4096
MAX_CIPHERTEXT = 2 * MAX_PLAINTEXT


@dataclass(frozen=True)
class SecretRef:
    caller: str
    account_id: str
    purpose: str
    record_id: str

    def context(self) -> Context:
        # The caller is bound too, and purposes live in their own namespace ("secret:…"),
        # so no secret can ever be opened as a provider credential or vice versa.
        return Context(
            account_id=self.account_id,
            record_id=self.record_id,
            platform=f"caller:{self.caller}",
            purpose=f"secret:{self.purpose}",
        )


class SecretBox:
    def __init__(
        self,
        store: CredentialStore,
        keys: KeyringSource,
        audit: AuditLog,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.keys = keys
        self.audit = audit
        self.clock = clock

    def encrypt(self, ref: SecretRef, plaintext: bytes) -> tuple[bytes, int]:
        self._admit("encrypt", ref)
        if not 0 < len(plaintext) <= MAX_PLAINTEXT:
            raise InvalidArgument(f"plaintext must be 1 to {MAX_PLAINTEXT} bytes")
        sealfloor.check_sealed(self.store, self.keys.current().current_version)
        ciphertext = self.keys.seal(ref.context(), plaintext)
        version = crypto.key_version_of(ciphertext)
        self._note(ref, version)
        sealfloor.check_sealed(self.store, version)
        return ciphertext, version

    def decrypt(self, ref: SecretRef, ciphertext: bytes) -> tuple[bytes, int, int]:
        """(plaintext, the ciphertext's key version, the current key version)."""
        self._admit("decrypt", ref)
        try:
            plaintext, version = self._open(ref, ciphertext)
        except (InvalidArgument, FailedPrecondition):
            self._audit("secret.decrypt", ref, "failure")
            raise
        self._note(ref, version)
        self._audit("secret.decrypt", ref, "success", {"key_version": version})
        return plaintext, version, self.keys.current().current_version

    def rewrap(self, ref: SecretRef, ciphertext: bytes) -> tuple[bytes, int]:
        self._admit("rewrap", ref)
        plaintext, old_version = self._open(ref, ciphertext)
        sealfloor.check_sealed(self.store, self.keys.current().current_version)
        fresh = self.keys.seal(ref.context(), plaintext)
        version = crypto.key_version_of(fresh)
        # Only the new version: the caller replaces the old ciphertext with this one (and a
        # census forgets the old version's earlier notes).
        self._note(ref, version)
        sealfloor.check_sealed(self.store, version)
        self._audit("secret.rewrap", ref, "success", {"from_version": old_version, "key_version": version})
        return fresh, version

    def start_census(self, caller: str, purpose: str) -> dt.datetime:
        self._admit_census("start", caller, purpose)
        now = self.clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what Mongo keeps

    def finish_census(
        self, caller: str, purpose: str, started_at: dt.datetime, counts: dict[int, int]
    ) -> None:
        self._admit_census("finish", caller, purpose)
        now = self.clock()
        if started_at > now:
            raise InvalidArgument("started_at must be a time StartSecretCensus returned")
        if any(v <= 0 or n < 0 for v, n in counts.items()):
            raise InvalidArgument("records_by_key_version needs positive versions and counts of at least 0")
        # Audited first (a security action: it decides what retire allows).
        self.audit.record(
            "secret.census",
            actor=f"service:{caller}",
            target_type="secret",
            target_id=f"{purpose}:*",
            details={
                "purpose": purpose,
                "started_at": started_at,
                "counts": {str(v): n for v, n in sorted(counts.items())},
            },
        )
        self.store.apply_census(caller, purpose, started_at, counts, now)

    def _admit_census(self, operation: str, caller: str, purpose: str) -> None:
        if not policy.may_use_secret(caller, purpose):
            ref = SecretRef(caller, "", purpose, "*")
            self._audit(f"secret.census_{operation}", ref, "denied", {"reason": "purpose_not_allowed"})
            shown = purpose if policy.valid_purpose(purpose) else "that purpose"
            raise PermissionDenied(f"service {caller!r} may not use secrets of purpose {shown!r}")

    def _admit(self, operation: str, ref: SecretRef) -> None:
        # Permission first: a refused caller learns nothing about its arguments' validity.
        if not policy.may_use_secret(ref.caller, ref.purpose):
            self._audit(f"secret.{operation}", ref, "denied", {"reason": "purpose_not_allowed"})
            shown = ref.purpose if policy.valid_purpose(ref.purpose) else "that purpose"
            raise PermissionDenied(f"service {ref.caller!r} may not use secrets of purpose {shown!r}")
        policy.check_account_id(ref.account_id)
        policy.check_purpose(ref.purpose)
        policy.check_record_id(ref.record_id)

    def _open(self, ref: SecretRef, ciphertext: bytes) -> tuple[bytes, int]:
        if len(ciphertext) > MAX_CIPHERTEXT:
            raise InvalidArgument(DecryptionError.MESSAGE)
        context = ref.context()
        try:
            plaintext = self.keys.unseal(context, ciphertext)
        except KeyVersionNotLoaded as exc:
            raise Unavailable(f"key version {exc.version} is not loaded here yet; retry shortly") from None
        except DecryptionError:
            raise InvalidArgument(DecryptionError.MESSAGE) from None
        except KeyVersionRetired as exc:
            raise FailedPrecondition(
                f"the secret was encrypted under key version {exc.version}, which has been retired"
            ) from None
        except UnknownKeyVersion as exc:
            raise FailedPrecondition(
                f"the secret was encrypted under key version {exc.version}, which this keyvault does not hold"
            ) from None
        return plaintext, crypto.key_version_of(ciphertext)

    def _note(self, ref: SecretRef, version: int) -> None:
        self.store.note_secret_use(ref.caller, ref.purpose, version, self.clock())

    def _audit(self, action: str, ref: SecretRef, outcome: Outcome, details: dict | None = None) -> None:
        purpose = ref.purpose if policy.valid_purpose(ref.purpose) else "(malformed)"
        self.audit.record(
            action,
            outcome=outcome,
            account_id=ref.account_id if policy.valid_account_id(ref.account_id) else None,
            actor=f"service:{ref.caller}",
            target_type="secret",
            target_id=f"{purpose}:{ref.record_id[:128]}",
            details={"purpose": purpose, **(details or {})},
        )
