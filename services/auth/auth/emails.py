"""The texts of the emails auth sends. Plain text; links point at PUBLIC_BASE_URL."""

from __future__ import annotations

from urllib.parse import urlencode

from auth.mailer import Message

VERIFY_SUBJECT = "Confirm your email address for AICosts"
RESET_SUBJECT = "Reset your AICosts password"
PASSWORD_CHANGED_SUBJECT = "Your AICosts password was changed"  # noqa: S105 (a subject line)
CODE_REUSED_SUBJECT = "A used AICosts sign-in code was tried again"
SIGNUP_ATTEMPT_SUBJECT = "Someone tried to sign up to AICosts with your email address"
MFA_SUBJECTS = {
    "enabled": "Two-factor authentication was turned on for your AICosts account",
    "disabled": "Two-factor authentication was turned off for your AICosts account",
    "backup_codes": "New AICosts backup codes were made",
}
_MFA_WHAT = {
    "enabled": "Two-factor authentication was just turned on for your AICosts account, with a new "
    "authenticator app, and every other session was signed out.",
    "disabled": "Two-factor authentication was just turned off for your AICosts account, and every "
    "other session was signed out. Signing in now needs only the password.",
    "backup_codes": "New backup codes were just made for your AICosts account; the old ones no longer "
    "work, and every other session was signed out.",
}


ALERT_FOOTER = "You receive this because alerts are set up for your AICosts account. Manage them at {url}."


def link(base_url: str, path: str, token: str) -> str:
    return f"{base_url}{path}?{urlencode({'token': token})}"


def verification(to: str, name: str, url: str, hours: int) -> Message:
    text = (
        f"Hello {name},\n\n"
        "Please confirm your email address for your AICosts account by opening this link:\n\n"
        f"{url}\n\n"
        f"The link works once and expires in {hours} hours. If you did not sign up, ignore this email.\n"
    )
    return Message(to=to, subject=VERIFY_SUBJECT, text=text)


def password_reset(to: str, url: str, minutes: int) -> Message:
    text = (
        "Someone asked to reset the password of your AICosts account.\n\n"
        f"To choose a new password, open this link:\n\n{url}\n\n"
        f"The link works once and expires in {minutes} minutes. If two-factor authentication is on, "
        "you will also need a code from your authenticator app or a backup code.\n\n"
        "If you did not ask for this, ignore this email: your password stays the same.\n"
    )
    return Message(to=to, subject=RESET_SUBJECT, text=text)


def password_changed(to: str, how: str) -> Message:
    text = (
        f"The password of your AICosts account was just {how}, and every other session was signed out.\n\n"
        "If this was not you, reset your password at once and check your account's audit log.\n"
    )
    return Message(to=to, subject=PASSWORD_CHANGED_SUBJECT, text=text)


def code_reused(to: str) -> Message:
    text = (
        "A two-factor code that had already been used was entered again for your AICosts account, "
        "and it was refused.\n\n"
        "Someone may know your password and have seen one of your codes. If this was not you, "
        "change your password now.\n"
    )
    return Message(to=to, subject=CODE_REUSED_SUBJECT, text=text)


def signup_attempt(to: str) -> Message:
    text = (
        "Someone just tried to create an AICosts account with this email address, which already has "
        "one. Nothing was changed.\n\n"
        "If it was you, sign in instead, or ask for a password reset if you forgot the password.\n\n"
        "If it was not you, you can ignore this email: the password they typed was not used.\n"
    )
    return Message(to=to, subject=SIGNUP_ATTEMPT_SUBJECT, text=text)


def mfa_changed(to: str, change: str) -> Message:
    """`change`: "enabled", "disabled" or "backup_codes"."""
    text = (
        f"{_MFA_WHAT[change]}\n\n"
        "If this was not you, someone knows your password: reset it at once, and check your "
        "account's audit log.\n"
    )
    return Message(to=to, subject=MFA_SUBJECTS[change], text=text)


def alert(to: str, subject: str, text: str, base_url: str) -> Message:
    """An alert composed by the usage service, with auth's footer; "-- " opens a signature block
    (RFC 3676), which mail readers show apart from the alert itself."""
    footer = ALERT_FOOTER.format(url=f"{base_url}/alerts")
    return Message(to=to, subject=subject, text=f"{text.rstrip()}\n\n-- \n{footer}\n")
