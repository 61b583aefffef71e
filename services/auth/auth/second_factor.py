"""Checking a second factor: a TOTP code (accepted once: the step is stored, RFC 6238 §5.2) or a
single-use backup code. Replays are refused, audited, logged and mailed to the user (ASVS 2.8.5)."""

from __future__ import annotations

import logging
from typing import Literal

from auth import emails, totp
from auth.core import Core, Doc

log = logging.getLogger("auth.mfa")

Method = Literal["totp", "backup_code"]


class WrongCode(Exception):
    """The code did not pass. `replay`: it was a valid TOTP code that had already been used."""

    def __init__(self, replay: bool = False) -> None:
        super().__init__("wrong code")
        self.replay = replay


def totp_on(account: Doc) -> bool:
    return bool((account.get("totp") or {}).get("enabled"))


def check_code(core: Core, account: Doc, code: str) -> Method:
    """Accept `code` for `account` (2FA on) and spend it, or raise WrongCode."""
    state = account["totp"]
    account_id = account["_id"]
    now = core.now()
    last = state.get("last_used_step")
    secret = _open_seed(core, account_id, state["secret"])

    step = totp.match_step(secret, code, now, last)
    if step is not None and core.stores.accounts.use_totp_step(account_id, step):
        return "totp"
    # A valid step that lost the race to store itself is a replay too.
    if step is not None or totp.is_replay(secret, code, now, last):
        _replayed(core, account)
        raise WrongCode(replay=True)

    hashes = state.get("backup_codes") or []
    index = totp.verify_backup_code(code, hashes)
    if index is not None and core.stores.accounts.spend_backup_code(account_id, index, hashes[index]):
        left = sum(1 for h in hashes if h is not None) - 1
        core.record("mfa.backup_code_used", account_id=account_id, remaining=left)
        return "backup_code"
    raise WrongCode()


def _open_seed(core: Core, account_id: str, ciphertext: bytes) -> str:
    opened = core.box.open(account_id, ciphertext)
    if opened.stale:
        # Sealed under a key version that is no longer current: re-encrypt it now so the old
        # version can be retired. Best effort; `python -m auth.rewrap` does every account.
        try:
            core.stores.accounts.replace_totp_secret(
                account_id, ciphertext, core.box.rewrap(account_id, ciphertext)
            )
        except Exception as exc:
            log.warning("totp seed rewrap failed", extra={"error_type": type(exc).__name__})
    return opened.plaintext


def _replayed(core: Core, account: Doc) -> None:
    log.warning("totp code replay refused", extra={"account_id": account["_id"]})
    core.record("mfa.totp_replay", "denied", account_id=account["_id"], anonymous=True)
    core.mail.notify(emails.code_reused(account["email"]))
