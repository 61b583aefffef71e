"""The alert loop on the real database, with a real local webhook receiver and a recording mailer:
two replicas deliver each alert once per channel, failed deliveries retry with backoff and give up
after a day, signatures verify, a crash between storing deliveries and the alert sends once, and
the evaluation queue (re-marking while evaluating, the once-a-day mark)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from testkit.alert_rig import AlertRig, drain, settings
from testkit.webhook_receiver import WebhookReceiver
from usage import outbound
from usage.alerts.alertstore import AlertStore
from usage.alerts.settings import AlertSettings
from usage.backoff import FIRST_DELAY, JITTER
from usage.clients.auth_mail import AlertMailError

MONDAY = dt.datetime(2026, 10, 12, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def rig(harness: Any) -> AlertRig:
    harness.clock.now = MONDAY
    r = AlertRig(harness)
    r.professional()
    return r


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def webhook_budget(rig: AlertRig, url: str, thresholds: tuple[int, ...] = (50,)) -> tuple[str, str]:
    """A webhook destination and a $100 budget that emails the owner and calls it; (id, secret)."""
    destination, secret = rig.commands().create_destination(rig.account, "webhook", "Ops", url)
    rig.commands().create_budget(
        rig.account, settings("100", thresholds=list(thresholds), destination_ids=[destination["_id"]])
    )
    return destination["_id"], secret


def only(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [doc] = docs
    return doc


def test_two_replicas_deliver_each_alert_once_to_each_channel(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    webhook_budget(rig, receiver.url, thresholds=(10, 20, 30, 40, 50, 60))
    replicas = [rig.dispatcher(), rig.dispatcher()]
    rig.spend(rig.h.day(0), {"gpt-4o": "65"})
    replicas[0].changed(rig.account)
    replicas[1].changed(rig.account)
    start = threading.Barrier(2)

    def run(dispatcher: Any) -> None:
        start.wait()
        for _ in range(40):  # both race for the same evaluation and the same deliveries
            dispatcher.pass_once()

    threads = [threading.Thread(target=run, args=(d,)) for d in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rig.clock.advance(seconds=1)  # the last alerts' deliveries are due a few ms after they fired
    drain(*replicas)
    assert len(rig.alert_docs()) == 6
    assert len(receiver.received) == 6 and len(rig.mailer.calls) == 6
    assert len({r.headers["AICosts-Delivery"] for r in receiver.received}) == 6
    assert len({c.key for c in rig.mailer.calls}) == 6
    assert {a["deliveries"] for a in rig.alert_docs()} == {"delivered"}
    assert all(len(d["attempts"]) == 1 for d in rig.delivery_docs())


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    destination_id, _ = webhook_budget(rig, receiver.url)
    receiver.status = 500
    dispatcher = rig.dispatcher()
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)
    hook = only(rig.delivery_docs(channel="webhook"))
    failed_at = hook["attempts"][0]["at"]
    assert hook["status"] == "pending" and hook["attempts"][0]["status_code"] == 500
    delay = (hook["next_attempt_at"] - failed_at).total_seconds()
    low, high = FIRST_DELAY.total_seconds() * (1 - JITTER), FIRST_DELAY.total_seconds() * (1 + JITTER)
    assert low - 0.002 <= delay <= high + 0.002
    assert only(rig.alert_docs())["deliveries"] == "pending"
    assert rig.destinations.get(rig.account, destination_id)["last_status"] == "failing"
    assert dispatcher.pass_once() is False  # not before next_attempt_at
    receiver.status = 200
    rig.clock.now = hook["next_attempt_at"] + dt.timedelta(seconds=1)
    drain(dispatcher)
    hook = only(rig.delivery_docs(channel="webhook"))
    assert hook["status"] == "delivered" and [a["status_code"] for a in hook["attempts"]] == [500, 200]
    assert len(receiver.received) == 2
    assert only(rig.alert_docs())["deliveries"] == "delivered"
    assert rig.destinations.get(rig.account, destination_id)["last_status"] == "delivered"


def test_a_receiver_failing_for_a_day_is_given_up_and_audited(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    webhook_budget(rig, receiver.url)
    receiver.status = 503
    dispatcher = rig.dispatcher()
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)
    first_at = only(rig.delivery_docs(channel="webhook"))["attempts"][0]["at"]
    for _ in range(60):
        hook = only(rig.delivery_docs(channel="webhook"))
        if hook["status"] != "pending":
            break
        rig.clock.now = hook["next_attempt_at"]
        assert dispatcher.pass_once()
    assert hook["status"] == "gave_up" and hook["next_attempt_at"] is None
    last_at = hook["attempts"][-1]["at"]
    assert dt.timedelta(hours=23) < last_at - first_at <= dt.timedelta(hours=24)
    assert 20 <= len(hook["attempts"]) == len(receiver.received) <= 40
    assert only(rig.alert_docs())["deliveries"] == "failing"
    [failed] = rig.audit_events(action="alert.delivery_failed")
    assert (failed["outcome"], failed["target"]["id"]) == ("failure", hook["_id"])
    assert failed["details"]["status_code"] == 503 and failed["details"]["attempts"] == len(hook["attempts"])
    rig.clock.advance(days=2)
    drain(dispatcher)  # the daily evaluation runs; the delivery is not tried again
    assert len(receiver.received) == len(hook["attempts"])
    assert only(rig.delivery_docs(channel="webhook"))["status"] == "gave_up"


def test_a_refused_address_gives_up_at_once(rig: AlertRig, receiver: WebhookReceiver) -> None:
    webhook_budget(rig, receiver.url)  # accepted while local http was allowed
    dispatcher = rig.dispatcher(policy=outbound.OutboundPolicy(allow_local_http=False))
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)
    hook = only(rig.delivery_docs(channel="webhook"))
    assert hook["status"] == "gave_up" and len(hook["attempts"]) == 1
    assert hook["attempts"][0]["error"].startswith("refused:") and receiver.received == []
    assert only(rig.delivery_docs(channel="email"))["status"] == "delivered"
    assert only(rig.alert_docs())["deliveries"] == "failing"


def test_a_retryable_mail_failure_is_retried_with_the_same_key(rig: AlertRig) -> None:
    rig.budget("100", thresholds=[50])
    rig.mailer.failure = AlertMailError("auth could not send the alert email now", retryable=True)
    dispatcher = rig.dispatcher()
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)
    mail = only(rig.delivery_docs())
    assert mail["status"] == "pending" and mail["attempts"][0]["error"].startswith("auth could not")
    rig.mailer.failure = None
    rig.clock.now = mail["next_attempt_at"]
    drain(dispatcher)
    assert only(rig.delivery_docs())["status"] == "delivered"
    first, second = rig.mailer.calls
    assert first == second and first.key == mail["_id"]  # auth dedups by key: no double email


def test_a_permanent_mail_failure_gives_up(rig: AlertRig) -> None:
    rig.budget("100", thresholds=[50])
    rig.mailer.failure = AlertMailError("auth refused the alert email", retryable=False)
    dispatcher = rig.dispatcher()
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)
    assert only(rig.delivery_docs())["status"] == "gave_up" and len(rig.mailer.calls) == 1
    assert only(rig.audit_events(action="alert.delivery_failed"))["details"]["channel"] == "email"


def test_the_webhook_signature_verifies_with_the_destinations_secret(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    _, secret = webhook_budget(rig, receiver.url)
    assert secret.startswith("whsec_")
    dispatcher = rig.dispatcher()
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)
    [request] = receiver.received
    parts = dict(p.split("=", 1) for p in request.headers["AICosts-Signature"].split(","))
    signed = f"{parts['t']}.".encode() + request.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - int(rig.clock().timestamp())) <= 2
    wrong = hmac.new(b"whsec_other", signed, hashlib.sha256).hexdigest()
    assert parts["v1"] != wrong
    assert b'"type":"alert.fired"' in request.body and request.headers["Content-Type"] == "application/json"


class CrashOnceAfterDeliveries(AlertStore):
    """The process dies after the alert's deliveries are stored and before the alert is."""

    crashed = False

    def fire(self, doc: dict[str, Any]) -> bool:
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("process killed")
        return super().fire(doc)


def test_a_crash_between_deliveries_and_alert_still_sends_exactly_once(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    webhook_budget(rig, receiver.url)
    crashing = CrashOnceAfterDeliveries(rig.db)
    dispatcher = rig.dispatcher(evaluator=rig.evaluator(alerts=crashing))
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dispatcher.changed(rig.account)
    drain(dispatcher)  # the evaluation failed; the deliveries it stored are sent anyway
    assert crashing.crashed and rig.alert_docs() == []
    assert len(receiver.received) == 1 and len(rig.mailer.calls) == 1
    rig.clock.advance(minutes=1)  # past the evaluation's retry: evaluated again
    drain(dispatcher)
    alert = only(rig.alert_docs())
    assert alert["deliveries"] == "delivered"
    assert len(receiver.received) == 1 and len(rig.mailer.calls) == 1
    assert {d["alert_id"] for d in rig.delivery_docs()} == {alert["_id"]} and len(rig.delivery_docs()) == 2


class CountingEvaluator:
    def __init__(self, inner: Any, during: Any = None) -> None:
        self.inner, self.during, self.calls = inner, during, 0

    def evaluate(self, account_id: str) -> int:
        self.calls += 1
        if self.during is not None:
            self.during()
            self.during = None
        return self.inner.evaluate(account_id)


def test_an_account_marked_while_it_is_evaluated_is_evaluated_again(rig: AlertRig) -> None:
    rig.budget("100")
    holder: dict[str, Any] = {}

    def data_changes_meanwhile() -> None:
        rig.clock.advance(seconds=1)
        holder["d"].changed(rig.account)

    counting = CountingEvaluator(rig.evaluator(), during=data_changes_meanwhile)
    dispatcher = holder["d"] = rig.dispatcher(evaluator=counting)
    dispatcher.pass_once()  # the daily mark: evaluated once, and marked again meanwhile
    assert counting.calls == 1
    assert dispatcher.pass_once() is True and counting.calls == 2
    assert dispatcher.pass_once() is False and counting.calls == 2


def test_the_daily_mark_is_once_per_day_per_account_across_replicas(rig: AlertRig) -> None:
    rig.budget("100")
    rig.settings.put("acct-anomalies-only", AlertSettings(anomalies_enabled=True), rig.clock())
    counts = [CountingEvaluator(rig.evaluator()), CountingEvaluator(rig.evaluator())]
    first, second = (rig.dispatcher(evaluator=c) for c in counts)
    drain(first)
    drain(second)  # its own first daily pass finds both accounts already marked today
    assert [c.calls for c in counts] == [2, 0]
    rig.clock.advance(minutes=30)  # both pass the daily check again, the same day
    drain(second, first)
    assert [c.calls for c in counts] == [2, 0]
    rig.clock.now = MONDAY.replace(hour=0) + dt.timedelta(days=1, minutes=1)
    drain(second, first)
    assert sum(c.calls for c in counts) == 4
    assert rig.queue.mark_daily(rig.account, rig.clock().date(), rig.clock()) is False


def test_a_delivery_claimed_by_a_replica_that_died_is_sent_by_another_after_the_lease(
    rig: AlertRig, receiver: WebhookReceiver
) -> None:
    webhook_budget(rig, receiver.url)
    dead, alive = rig.dispatcher(), rig.dispatcher()
    rig.spend(rig.h.day(0), {"gpt-4o": "60"})
    dead.changed(rig.account)
    rig.evaluator().evaluate(rig.account)
    rig.clock.advance(seconds=1)
    claimed = [rig.deliveries.claim(dead.owner, rig.clock()) for _ in range(2)]
    assert all(claimed)  # both deliveries leased by a replica that then dies without sending
    assert rig.deliveries.claim(alive.owner, rig.clock()) is None
    rig.clock.advance(seconds=59)
    assert rig.deliveries.claim(alive.owner, rig.clock()) is None  # the lease still holds
    rig.clock.advance(seconds=2)
    drain(alive)
    assert len(receiver.received) == 1 and len(rig.mailer.calls) == 1
    assert {d["status"] for d in rig.delivery_docs()} == {"delivered"}
