"""Plan limits on an account's scheduled syncs. usage learns each account's plan from auth: its
reconciler follows auth's plan changes (usage/reconciler.py, `set_plan`), and StartSync asks auth
for it too; from it:

- credentials beyond the plan's max_credentials have their scheduled syncs paused: the oldest
  keep syncing, and each paused key says why in its keyvault status_message (shown by
  GET /v1/credentials), so the user sees it where the key is listed;
- every sync target's history is clamped to the plan's history_days.

Nothing is deleted on a downgrade: records stay, and an upgrade (or deleting another key)
resumes paused keys at once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from svccommon.errors import InvalidArgument
from svccommon.plans import UnknownPlan, cheapest_plan, effective_plan, get_plan

from usage.clients.keyvault_credentials import Credentials
from usage.planstore import PlanStore

log = logging.getLogger(__name__)

PAUSED = (
    "Scheduled syncs of this key are paused: the {plan} plan syncs up to {limit} provider keys "
    "(the oldest ones); more are part of the {upgrade} plan. Upgrade to {upgrade}, or delete "
    "another key, to resume them."
)


@dataclass(frozen=True)
class Applied:
    active: list[str]  # credential ids whose scheduled syncs run
    paused: list[str]  # credential ids the plan pauses
    message: str = ""  # why the paused ones are paused
    plan: str = ""  # the plan applied ("": none reported yet)


def pause_message(plan_id: str) -> str:
    plan = effective_plan(plan_id)
    upgrade = cheapest_plan(lambda p: p.max_credentials is None)
    return PAUSED.format(
        plan=plan.name, limit=plan.max_credentials, upgrade=upgrade.name if upgrade else "a larger"
    )


class AccountPlans:
    def __init__(self, store: PlanStore, credentials: Credentials, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.credentials = credentials
        self.clock = clock

    def record(self, account_id: str, plan_id: str) -> None:
        """Remember the account's plan (applied by the next `apply`)."""
        try:
            plan = get_plan(plan_id)
        except UnknownPlan as exc:
            raise InvalidArgument(str(exc)) from None
        self.store.set_plan(account_id, plan.id, self.clock())

    def set_plan(self, account_id: str, plan_id: str) -> Applied:
        self.record(account_id, plan_id)
        return self.apply(account_id, renote=True)

    def apply(self, account_id: str, renote: bool = False) -> Applied:
        """Pause and resume the account's targets to fit its plan; idempotent. `renote` writes the
        keys' notes again even where the pause is not new (a note lost to a keyvault outage)."""
        targets = self.store.targets.of_account(account_id)
        plan_id = self.store.plan_of(account_id)
        if plan_id is None:  # never reported: nothing to enforce yet
            return Applied([t["credential_id"] for t in targets], [])
        plan = effective_plan(plan_id)
        limit = plan.max_credentials
        keep, over = (targets, []) if limit is None else (targets[:limit], targets[limit:])
        message = pause_message(plan.id) if over else ""
        newly_paused = {t["credential_id"]: message for t in over if not t.get("paused")}
        resumed = [t["credential_id"] for t in keep if t.get("paused")]
        self.store.targets.set_limits(account_id, plan.history_days, newly_paused, resumed, self.clock())
        for credential_id in [t["credential_id"] for t in over] if renote else newly_paused:
            self._note(account_id, credential_id, message)
        for credential_id in resumed:
            self._note(account_id, credential_id, "")
        if newly_paused or resumed:
            log.info(
                "plan limits applied",
                extra={"plan": plan.id, "paused": len(newly_paused), "resumed": len(resumed)},
            )
        return Applied(
            [t["credential_id"] for t in keep], [t["credential_id"] for t in over], message, plan.id
        )

    def _note(self, account_id: str, credential_id: str, message: str) -> None:
        """Best effort: the pause itself is stored; the next set_plan (reconciler) writes the notes again."""
        try:
            self.credentials.note(account_id, credential_id, message)
        except Exception as exc:
            log.warning("could not note a paused key in keyvault", extra={"error_type": type(exc).__name__})
