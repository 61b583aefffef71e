"""Whether an account may store one more provider key, decided here because keyvault owns the
keys: the account must have confirmed its email address, and its plan must allow one more key
than it holds (Free: 3). The plan and verified state come from auth at the moment of the store."""

from __future__ import annotations

from svccommon.errors import EmailUnverified
from svccommon.plangate import require
from svccommon.standing import Standing


def admit_new_key(standing: Standing, held: int) -> None:
    """Raise EmailUnverified or PlanRequired, or return: `held` keys are stored already."""
    if not standing.email_verified:
        raise EmailUnverified("storing provider keys")
    plan = standing.plan
    require(
        plan,
        lambda p: p.allows_credentials(held + 1),
        f"Holding more than {plan.max_credentials} provider keys",
    )
