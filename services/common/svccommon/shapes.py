"""Shapes of values that a service checks and the gateway's request schemas state, written once so
the two cannot drift (the API document would otherwise accept what the service refuses)."""

from __future__ import annotations

# An email address as alert recipients take it (a dot-atom local part and a dotted domain): the
# shape email-validator, which checks them fully, accepts.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})?@(?:{_LABEL}\.){{1,4}}[A-Za-z]{{2,24}}$"
# A name people give a thing: at least one visible character, no control characters or line breaks.
_TEXT = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
NAME_PATTERN = rf"^{_TEXT}*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]{_TEXT}*$"
# A positive amount of US dollars, whole cents, below one billion ("100", "0.50", "12.5").
POSITIVE_USD_PATTERN = r"^(?:0*[1-9]\d{0,8}(?:\.\d{1,2})?|0*\.(?:0[1-9]|[1-9]\d?))$"
