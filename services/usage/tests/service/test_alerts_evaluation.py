"""Alert evaluation on the real database: budget thresholds fire once each, scopes filter spend,
custom periods and mutes hold alerts back, forecast thresholds, what each plan evaluates, and the
three anomaly kinds (Professional with detection on)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from svccommon.errors import NotFound
from testkit.alert_rig import CRED_B, AlertRig, drain, settings
from testkit.webhook_receiver import WebhookReceiver
from usage.alerts.budgets import Scope
from usage.alerts.settings import AlertSettings

MONDAY = dt.datetime(2026, 10, 12, 12, 0, tzinfo=dt.UTC)  # mid-month: room for a forecast


@pytest.fixture
def rig(harness: Any) -> AlertRig:
    harness.clock.now = MONDAY
    return AlertRig(harness)


def thresholds_fired(rig: AlertRig, kind: str = "budget_threshold") -> list[int]:
    return [a["threshold"] for a in rig.alert_docs(kind=kind)]


def test_each_threshold_fires_once_across_repeated_evaluations(rig: AlertRig) -> None:
    rig.budget("100")
    evaluator = rig.evaluator()
    rig.spend(rig.h.day(2), {"gpt-4o": "30"})
    assert evaluator.evaluate(rig.account) == 0
    rig.spend(rig.h.day(1), {"gpt-4o": "25"})  # 55: past 50%
    assert evaluator.evaluate(rig.account) == 1
    assert evaluator.evaluate(rig.account) == 0
    assert rig.evaluator().evaluate(rig.account) == 0  # a fresh evaluator (another replica) too
    assert thresholds_fired(rig) == [50]
    [alert] = rig.alert_docs()
    assert alert["message"] == (
        "Budget 'Team' (all spend): $55.00 of $100.00 spent in October 2026 (55.0%), past its 50% threshold."
    )
    assert alert["amount_usd"].to_decimal() == Decimal("55.00")


def test_spend_crossing_two_thresholds_at_once_fires_both_in_order(rig: AlertRig) -> None:
    rig.budget("100")
    rig.spend(rig.h.day(0), {"gpt-4o": "80.00"})  # exactly 80%: reached counts
    assert rig.evaluator().evaluate(rig.account) == 2
    page, _ = rig.commands().list_alerts(rig.account, 10, "", False)
    assert [a["threshold"] for a in page] == [80, 50]  # newest first: 50 fired before 80
    assert page[0]["fired_at"] > page[1]["fired_at"]
    assert [d["channel"] for d in rig.delivery_docs()] == ["email", "email"]


def test_last_months_spend_does_not_count_this_month(rig: AlertRig) -> None:
    rig.budget("100")
    rig.spend(dt.date(2026, 9, 30), {"gpt-4o": "500"})
    rig.spend(dt.date(2026, 10, 1), {"gpt-4o": "49.99"})
    assert rig.evaluator().evaluate(rig.account) == 0


@pytest.mark.parametrize(
    "scope",
    [
        Scope("platform", platform="anthropic"),
        Scope("model", platform="openai", model="o3"),
        Scope("credential", credential_id=CRED_B),
    ],
    ids=["platform", "model", "credential"],
)
def test_a_scope_counts_only_its_spend(rig: AlertRig, scope: Scope) -> None:
    rig.budget("100", scope=scope, thresholds=[50])
    day = rig.h.day(1)
    rig.spend(day, {"gpt-4o": "400", "o3": "30"})  # key A: its gpt-4o is outside every scope here
    rig.spend(day, {"claude": "30"}, platform="anthropic", credential=CRED_B)
    assert rig.evaluator().evaluate(rig.account) == 0  # 30 of 100 in scope
    if scope.kind == "model":
        rig.spend(rig.h.day(0), {"o3": "25"})
    else:  # anthropic spend on key B: in the platform's scope and in the key's
        rig.spend(rig.h.day(0), {"claude": "25"}, platform="anthropic", credential=CRED_B)
    assert rig.evaluator().evaluate(rig.account) == 1
    [alert] = rig.alert_docs()
    assert alert["amount_usd"].to_decimal() == Decimal("55.00")


def test_a_custom_period_fires_only_within_its_dates(rig: AlertRig) -> None:
    rig.budget("100", period="custom", start_date="2026-10-13", end_date="2026-10-20")
    rig.spend(rig.h.day(1), {"gpt-4o": "300"})
    rig.spend(rig.h.day(0), {"gpt-4o": "300"})
    assert rig.evaluator().evaluate(rig.account) == 0  # not started
    rig.clock.now = MONDAY + dt.timedelta(days=1)
    assert rig.evaluator().evaluate(rig.account) == 0  # started; spend before it does not count
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    assert rig.evaluator().evaluate(rig.account) == 1
    rig.clock.now = MONDAY + dt.timedelta(days=9)  # over: nothing more, whatever is spent
    rig.spend(rig.h.day(0), {"gpt-4o": "900"})
    assert rig.evaluator().evaluate(rig.account) == 0
    assert thresholds_fired(rig) == [50]


def test_a_muted_budget_fires_nothing_until_the_mute_ends(rig: AlertRig) -> None:
    rig.budget("100")
    rig.spend(rig.h.day(1), {"gpt-4o": "55"})
    rig.evaluator().evaluate(rig.account)
    [fifty] = rig.alert_docs()
    _, until = rig.commands().mute(rig.account, fifty["_id"], 2)
    assert until == MONDAY + dt.timedelta(days=2)
    rig.spend(rig.h.day(0), {"gpt-4o": "50"})  # 105: past 80 and 100
    assert rig.evaluator().evaluate(rig.account) == 0
    rig.clock.advance(days=2, seconds=-1)
    assert rig.evaluator().evaluate(rig.account) == 0
    rig.clock.advance(seconds=1)
    assert rig.evaluator().evaluate(rig.account) == 2
    assert thresholds_fired(rig) == [50, 80, 100]


def test_a_forecast_threshold_fires_once_while_the_projection_passes_and_actual_has_not(
    rig: AlertRig,
) -> None:
    rig.budget("300", thresholds=[100], forecast_thresholds=[100])
    rig.steady(80, 0, "10")  # $10 every day: 120 so far in October, about 310 by its end
    evaluator = rig.evaluator()
    assert evaluator.evaluate(rig.account) == 1
    [forecast] = rig.alert_docs(kind="budget_forecast")
    assert forecast["threshold"] == 100 and forecast["amount_usd"].to_decimal() > Decimal(300)
    assert forecast["message"].startswith("Budget 'Team' (all spend) is projected to reach $300.00 (100% of")
    rig.clock.advance(days=1)
    rig.spend(rig.h.day(0), {"gpt-4o": "10"})
    assert evaluator.evaluate(rig.account) == 0  # still projected: the same alert, not again
    rig.spend(rig.h.day(0), {"gpt-4o": "200"})  # actual passes: the threshold alert, not a forecast
    assert evaluator.evaluate(rig.account) == 1
    assert thresholds_fired(rig) == [100] and len(rig.alert_docs(kind="budget_forecast")) == 1


def test_no_forecast_alert_from_a_run_rate_of_a_few_days(rig: AlertRig) -> None:
    rig.budget("400", thresholds=[100], forecast_thresholds=[100])
    rig.steady(3, 0, "20")  # $80 in four days, a run rate to $460, but too little to go on
    assert rig.evaluator().evaluate(rig.account) == 0
    rig.steady(10, 4, "20")  # eleven days of the same: a pattern ($600 by the 31st), and the warning
    assert rig.evaluator().evaluate(rig.account) == 1
    assert len(rig.alert_docs(kind="budget_forecast")) == 1


def test_no_forecast_alert_while_the_projection_stays_under(rig: AlertRig) -> None:
    rig.budget("1000", thresholds=[100], forecast_thresholds=[80, 100])
    rig.steady(80, 0, "10")
    assert rig.evaluator().evaluate(rig.account) == 0


def test_free_evaluates_only_the_oldest_budget_and_sends_email_only(rig: AlertRig) -> None:
    rig.professional()
    commands = rig.commands()
    with WebhookReceiver() as receiver:
        destination, _ = commands.create_destination(rig.account, "webhook", "Ops", receiver.url)
        oldest = commands.create_budget(rig.account, settings_with_destination(destination["_id"]))
        rig.clock.advance(seconds=1)
        commands.create_budget(rig.account, settings_with_destination(destination["_id"], name="Second"))
        rig.free()  # a downgrade: the budgets and the destination stay, the plan's limits apply
        rig.spend(rig.h.day(0), {"gpt-4o": "60"})
        dispatcher = rig.dispatcher()
        dispatcher.changed(rig.account)
        drain(dispatcher)
        assert [a["budget_id"] for a in rig.alert_docs()] == [oldest["_id"]]
        assert [d["channel"] for d in rig.delivery_docs()] == ["email"]
        assert len(rig.mailer.calls) == 1 and receiver.received == []
        rig.professional()
        rig.clock.advance(minutes=1)
        dispatcher.changed(rig.account)
        drain(dispatcher)
        assert len(rig.alert_docs()) == 2  # the second budget now too, by email and webhook
        assert len(rig.mailer.calls) == 2 and len(receiver.received) == 1


def settings_with_destination(destination_id: str, name: str = "Team") -> Any:
    return settings("100", name=name, thresholds=[50], destination_ids=[destination_id])


# --- anomalies -----------------------------------------------------------------------


def enable_anomalies(rig: AlertRig, **overrides: Any) -> None:
    rig.settings.put(rig.account, AlertSettings(anomalies_enabled=True, **overrides), rig.clock())


def test_a_spike_on_a_steady_series_fires_one_spike_alert(rig: AlertRig) -> None:
    rig.professional()
    enable_anomalies(rig)
    rig.steady(40, 1, "50")
    rig.spend(rig.h.day(0), {"gpt-4o": "250"})
    evaluator = rig.evaluator()
    assert evaluator.evaluate(rig.account) == 1
    assert evaluator.evaluate(rig.account) == 0
    [alert] = rig.alert_docs()
    assert (alert["kind"], alert["title"], alert["subject"]) == (
        "spike",
        "Unusual spend: openai gpt-4o",
        "openai|gpt-4o",
    )
    assert alert["message"] == "openai gpt-4o: $250.00 on 2026-10-12, 5.0× its usual Monday"
    assert [d["payload"]["text"] for d in rig.delivery_docs()] == [alert["message"]]


def test_a_small_spike_fires_nothing(rig: AlertRig) -> None:
    rig.professional()
    enable_anomalies(rig)
    rig.steady(40, 1, "1")
    rig.spend(rig.h.day(0), {"gpt-4o": "5"})  # 5x, but under the $20 worth paging for
    assert rig.evaluator().evaluate(rig.account) == 0


def test_a_new_model_costing_20_dollars_fires_new_model(rig: AlertRig) -> None:
    rig.professional()
    enable_anomalies(rig)
    rig.steady(40, 0, "50")
    rig.spend(rig.h.day(0), {"gpt-4o": "50", "o3": "20"})
    assert rig.evaluator().evaluate(rig.account) == 1
    [alert] = rig.alert_docs()
    assert (alert["kind"], alert["subject"]) == ("new_model", "openai|o3")
    assert alert["message"] == "openai o3: a model not used before now costs $20.00 on 2026-10-12"


def test_a_key_idle_for_20_days_that_spends_30_dollars_fires_key_woke_up(rig: AlertRig) -> None:
    rig.professional()
    enable_anomalies(rig)
    rig.steady(40, 0, "50")  # key A, every day: keeps the model's own series unremarkable
    rig.steady(30, 21, "10", credential=CRED_B)
    rig.spend(rig.h.day(0), {"gpt-4o": "30"}, credential=CRED_B)
    assert rig.evaluator().evaluate(rig.account) == 1
    [alert] = rig.alert_docs()
    assert (alert["kind"], alert["subject"]) == ("key_woke_up", f"key:{CRED_B}")
    assert alert["message"] == "Key '…bbbbbb' (openai): idle for 20 days, spent $30.00 on 2026-10-12"


def test_anomalies_need_professional_and_detection_on(rig: AlertRig) -> None:
    rig.steady(40, 1, "50")
    rig.spend(rig.h.day(0), {"gpt-4o": "250"})
    enable_anomalies(rig)  # stored on a Free account (e.g. before a downgrade): not evaluated
    assert rig.evaluator().evaluate(rig.account) == 0
    rig.professional()
    rig.settings.put(rig.account, AlertSettings(anomalies_enabled=False), rig.clock())
    assert rig.evaluator().evaluate(rig.account) == 0
    enable_anomalies(rig)
    assert rig.evaluator().evaluate(rig.account) == 1


def test_a_muted_anomaly_series_fires_nothing_until_the_mute_ends(rig: AlertRig) -> None:
    rig.professional()
    enable_anomalies(rig)
    rig.steady(40, 1, "50")
    rig.spend(rig.h.day(0), {"gpt-4o": "250"})
    rig.evaluator().evaluate(rig.account)
    [spike] = rig.alert_docs()
    rig.commands().mute(rig.account, spike["_id"], 7)
    rig.clock.advance(days=3)
    rig.steady(2, 1, "50")
    rig.spend(rig.h.day(0), {"gpt-4o": "300"})  # another spike of the same series, muted
    assert rig.evaluator().evaluate(rig.account) == 0
    rig.clock.advance(days=4)
    rig.steady(3, 1, "50")
    rig.spend(rig.h.day(0), {"gpt-4o": "260"})
    assert rig.evaluator().evaluate(rig.account) == 1
    assert [a["date"] for a in rig.alert_docs()] == ["2026-10-12", "2026-10-19"]


def test_an_account_auth_no_longer_knows_is_evaluated_as_done(rig: AlertRig) -> None:
    """An unverified account expires in auth with a budget set: evaluation ends (nothing fired),
    rather than failing and being retried for ever."""
    rig.budget("100")
    rig.spend(rig.h.day(1), {"gpt-4o": "80"})

    def gone(account_id: str) -> Any:
        raise NotFound("account not found")

    rig.plan_of = gone  # type: ignore[method-assign]
    assert rig.evaluator().evaluate(rig.account) == 0
    assert rig.alert_docs() == []
