"""The alert commands behind the servicer: destinations keep their URL and secret only sealed and
show the signing secret once, refused URLs and plan limits, deleting a destination, testing one,
mute bounds, and the alert history's pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import bson
import pytest
from svccommon.errors import InvalidField, PlanRequired
from testkit.alert_rig import CRED_B, AlertRig, settings
from testkit.webhook_receiver import WebhookReceiver
from usage.alerts.convert import destination as destination_message
from usage.alerts.settings import AlertSettings

MONDAY = dt.datetime(2026, 10, 12, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def rig(harness: Any) -> AlertRig:
    harness.clock.now = MONDAY
    return AlertRig(harness)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def field_of(exc: pytest.ExceptionInfo) -> str:
    [(key, name)] = exc.value.metadata
    assert key == "x-field"
    return name


def test_a_destination_is_stored_sealed_and_its_secret_is_shown_once(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    rig.professional()
    commands = rig.commands()
    url = receiver.url + "?token=hunter2-path-token"
    created, secret = commands.create_destination(rig.account, "webhook", "Ops hook", url)
    assert secret.startswith("whsec_") and len(secret) > 30
    raw = rig.db["alert_destinations"].find_one({"_id": created["_id"]})
    stored = bson.encode(raw)
    for plaintext in (url, "hunter2-path-token", "/hooks/aicosts", secret, secret[6:]):
        assert plaintext.encode() not in stored
    assert raw["target"] == "http://127.0.0.1:" + url.split(":")[2].split("/")[0] + "/…"
    assert rig.secrets.open(rig.account, created["_id"], raw["sealed"])[0] == {
        "url": url,
        "signing_secret": secret,
    }
    listed = commands.list_destinations(rig.account)
    shown = [destination_message(d).SerializeToString() for d in listed]
    assert len(shown) == 1 and secret.encode() not in shown[0] and b"hunter2" not in shown[0]
    assert "signing_secret" not in destination_message(listed[0]).DESCRIPTOR.fields_by_name
    [event] = rig.audit_events(action="alert_destination.created")
    assert secret not in str(event) and "hunter2" not in str(event)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",  # loopback over https: only the dev http exception may reach it
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "ftp://example.org/hook",
        "https://user:pw@example.org/hook",
    ],
)
def test_a_refused_url_is_an_invalid_url_field(rig: AlertRig, url: str) -> None:
    rig.professional()
    with pytest.raises(InvalidField) as caught:
        rig.commands().create_destination(rig.account, "webhook", "Ops", url)
    assert field_of(caught) == "url"
    assert rig.destinations.count(rig.account) == 0


def test_a_slack_destination_must_be_a_slack_url(rig: AlertRig) -> None:
    rig.professional()
    with pytest.raises(InvalidField) as caught:
        rig.commands().create_destination(rig.account, "slack", "Team", "https://example.org/services/x")
    assert field_of(caught) == "url"


def test_free_needs_professional_for_webhooks_a_second_budget_and_anomalies(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    commands = rig.commands()
    with pytest.raises(PlanRequired, match="Alerts by webhook"):
        commands.create_destination(rig.account, "webhook", "Ops", receiver.url)
    with pytest.raises(PlanRequired, match="Alerts by slack"):
        commands.create_destination(rig.account, "slack", "Team", "https://hooks.slack.com/services/T/B/x")
    commands.create_budget(rig.account, settings("100"))
    with pytest.raises(PlanRequired, match="More than 1 budget"):
        commands.create_budget(rig.account, settings("200", name="Second"))
    with pytest.raises(PlanRequired, match="Anomaly detection"):
        commands.update_settings(rig.account, AlertSettings(anomalies_enabled=True))
    assert rig.budgets.count(rig.account) == 1 and rig.destinations.count(rig.account) == 0
    commands.update_settings(rig.account, AlertSettings(anomalies_enabled=False, sensitivity="high"))
    rig.professional()
    commands.create_budget(rig.account, settings("200", name="Second"))
    commands.update_settings(rig.account, AlertSettings(anomalies_enabled=True))
    assert rig.budgets.count(rig.account) == 2 and rig.settings.get(rig.account).anomalies_enabled


def test_deleting_a_destination_removes_it_everywhere_and_gives_up_its_deliveries(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    rig.professional()
    commands = rig.commands()
    hook, _ = commands.create_destination(rig.account, "webhook", "Ops", receiver.url)
    other, _ = commands.create_destination(rig.account, "webhook", "Other", receiver.url)
    ids = [hook["_id"], other["_id"]]
    budget = commands.create_budget(rig.account, settings("100", thresholds=[50], destination_ids=ids))
    commands.update_settings(rig.account, AlertSettings(anomalies_enabled=True, destination_ids=tuple(ids)))
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    rig.evaluator().evaluate(rig.account)  # evaluated, nothing sent yet: three pending deliveries
    assert sorted(d["status"] for d in rig.delivery_docs()) == ["pending"] * 3
    commands.delete_destination(rig.account, hook["_id"])
    assert rig.budgets.get(rig.account, budget["_id"])["destination_ids"] == [other["_id"]]
    assert rig.settings.get(rig.account).destination_ids == (other["_id"],)
    by_destination = {d["destination_id"]: d["status"] for d in rig.delivery_docs()}
    assert by_destination == {hook["_id"]: "gave_up", other["_id"]: "pending", "": "pending"}
    assert [d["_id"] for d in commands.list_destinations(rig.account)] == [other["_id"]]
    assert len(rig.audit_events(action="alert_destination.deleted")) == 1


def test_testing_a_destination_attempts_at_once(rig: AlertRig, receiver: WebhookReceiver) -> None:
    rig.professional()
    commands = rig.commands()
    hook, secret = commands.create_destination(rig.account, "webhook", "Ops", receiver.url)
    delivery = commands.test_destination(rig.account, hook["_id"])
    assert delivery["status"] == "delivered" and delivery["alert_id"] == ""
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200
    [request] = receiver.received
    assert b'"type":"test"' in request.body and "AICosts-Signature" in request.headers
    receiver.status = 404
    failed = commands.test_destination(rig.account, hook["_id"])
    # A test is sent once: a failure is reported, not retried for a day.
    assert failed["status"] == "gave_up" and failed["attempts"][0]["status_code"] == 404
    assert rig.destinations.get(rig.account, hook["_id"])["last_status"] == "gave_up"
    page, _ = commands.list_deliveries(rig.account, hook["_id"], 10, "")
    assert {d["_id"] for d in page} == {delivery["_id"], failed["_id"]}


@pytest.mark.parametrize("days", [0, -1, 91])
def test_mute_days_are_1_to_90(rig: AlertRig, days: int) -> None:
    rig.budget("100")
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    rig.evaluator().evaluate(rig.account)
    [alert] = rig.alert_docs()
    with pytest.raises(InvalidField) as caught:
        rig.commands().mute(rig.account, alert["_id"], days)
    assert field_of(caught) == "days"
    _, until = rig.commands().mute(rig.account, alert["_id"], 90)
    assert until == MONDAY + dt.timedelta(days=90)


def test_alert_history_pages_with_a_cursor_and_filters_unacknowledged(rig: AlertRig) -> None:
    rig.budget("100", thresholds=list(range(10, 101, 10)))
    rig.spend(rig.h.day(0), {"gpt-4o": "100"})
    assert rig.evaluator().evaluate(rig.account) == 10
    commands = rig.commands()
    seen, cursor, pages = [], "", 0
    while True:
        page, cursor = commands.list_alerts(rig.account, 4, cursor, False)
        seen += [a["threshold"] for a in page]
        pages += 1
        if not cursor:
            break
    assert pages == 3 and seen == list(range(100, 0, -10))  # newest first, none twice
    for alert in rig.alert_docs(threshold={"$in": [30, 60, 90]}):
        commands.acknowledge(rig.account, alert["_id"])
    first, cursor = commands.list_alerts(rig.account, 5, "", True)
    rest, end = commands.list_alerts(rig.account, 5, cursor, True)
    assert [a["threshold"] for a in first + rest] == [100, 80, 70, 50, 40, 20, 10] and end == ""
    everything, _ = commands.list_alerts(rig.account, 0, "", False)  # 0: the largest page
    assert len(everything) == 10


def test_an_alert_told_only_to_a_deleted_destination_stops_showing_pending(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    rig.professional()
    commands = rig.commands()
    hook, _ = commands.create_destination(rig.account, "webhook", "Ops", receiver.url)
    only_hook = settings("100", thresholds=[50], email_owner=False, destination_ids=[hook["_id"]])
    commands.create_budget(rig.account, only_hook)
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    rig.evaluator().evaluate(rig.account)
    [alert] = rig.alert_docs()
    assert alert["deliveries"] == "pending"
    commands.delete_destination(rig.account, hook["_id"])
    [alert] = rig.alert_docs()
    assert alert["deliveries"] == "failing"  # nobody will be told: not "pending" for ever


def test_after_a_downgrade_a_budget_cannot_be_pointed_at_a_webhook(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    rig.professional()
    commands = rig.commands()
    hook, _ = commands.create_destination(rig.account, "webhook", "Ops", receiver.url)
    budget = commands.create_budget(rig.account, settings("100"))
    rig.free()
    with pytest.raises(PlanRequired, match="Alerts by webhook"):
        commands.update_budget(rig.account, budget["_id"], settings("100", destination_ids=[hook["_id"]]))
    with pytest.raises(PlanRequired, match="Alerts by webhook"):
        commands.test_destination(rig.account, hook["_id"])
    assert rig.budgets.get(rig.account, budget["_id"])["destination_ids"] == [] and receiver.received == []


def test_the_forecast_has_the_account_and_each_platform_with_their_actual_spend(rig: AlertRig) -> None:
    rig.steady(20, 0, "10")  # openai: $10 a day, twelve of them in this month so far
    rig.steady(20, 0, "5", model="claude-haiku-4-5", platform="anthropic", credential=CRED_B)
    total, platforms = rig.commands().forecast(rig.account, None)
    assert (total.period_start, total.as_of) == (MONDAY.date().replace(day=1), MONDAY.date())
    assert total.actual_usd == Decimal("180.00") and total.method == "seasonal"
    assert {p: f.actual_usd for p, f in platforms.items()} == {
        "openai": Decimal("120.00"),
        "anthropic": Decimal("60.00"),
    }
    assert all(
        f.projected_usd >= f.actual_usd and f.low_usd <= f.projected_usd <= f.high_usd
        for f in platforms.values()
    )
    assert total.projected_usd == Decimal("465.00")  # a flat $15 a day, 31 days
