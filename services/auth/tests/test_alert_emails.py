"""Alert emails for the usage service (auth/alerts.py, auth/store/alert_emails.py) against a real
database and the .eml outbox: what is sent and to whom, the footer, idempotency, the refusals, the
daily cap and a provider failure. The gRPC boundary (only usage may call) is in
tests/integration/test_auth_grpc.py."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth import alerts
from auth.core import Core
from auth.errors import Throttled
from auth.mailer import MailQueue, Message, OutboxMailer
from auth.store import Stores
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.database import Database
from svccommon.audit import AuditLog
from svccommon.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
BASE_URL = "https://app.example.com"
FOOTER = (
    "You receive this because alerts are set up for your AICosts account. "
    "Manage them at https://app.example.com/alerts."
)


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


class FlakyOutbox(OutboxMailer):
    """The outbox, except that the provider refuses the addresses in `refuse`."""

    def __init__(self, outbox: Path) -> None:
        super().__init__(outbox, "AICosts <no-reply@example.com>")
        self.refuse: set[str] = set()

    def send(self, message: Message) -> None:
        if message.to in self.refuse:
            raise RuntimeError("HTTP Error 503: provider text that must not reach the caller")
        super().send(message)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def mailer(tmp_path: Path) -> FlakyOutbox:
    return FlakyOutbox(tmp_path / "outbox")


@pytest.fixture()
def core(db: Database, clock: Clock, mailer: FlakyOutbox) -> Iterator[Core]:
    stores = Stores.of(db)
    stores.ensure_indexes()
    unused: Any = None  # hasher, limiter and keyvault play no part in alert emails
    queue = MailQueue(mailer)
    yield Core(
        stores=stores,
        hasher=unused,
        limiter=unused,
        mail=queue,
        box=unused,
        audit=AuditLog(db, "auth"),
        signing_key=Ed25519PrivateKey.generate(),
        access_ttl_s=600,
        session_ttl_s=86400,
        base_url=BASE_URL,
        clock=clock,
    )
    queue.close()


def new_account(db: Database, verified: bool = True) -> tuple[str, str]:
    account_id = uuid.uuid4().hex
    address = f"Owner.{account_id[:8]}@Example.com"
    db["accounts"].insert_one(
        {
            "_id": account_id,
            "email": address,
            "email_key": address.lower(),
            "email_verified": verified,
            "token_version": 0,
        }
    )
    return account_id, address


def outbox(mailer: FlakyOutbox) -> list[email.message.EmailMessage]:
    if not mailer.outbox.is_dir():
        return []
    files = sorted(mailer.outbox.glob("*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def send(core: Core, account_id: str, **overrides: Any) -> alerts.AlertDelivery:
    args: dict[str, Any] = {
        "to_owner": True,
        "to": [],
        "subject": "Budget 'Prod' at 80% of $500.00",
        "text": "Your budget 'Prod' has used $400.00 of $500.00 this month.\n",
        "key": "budget:b1:2027-01:80",
    }
    return alerts.send_alert_email(core, account_id, **{**args, **overrides})


def test_the_owner_and_further_addresses_get_the_text_with_the_footer(
    core: Core, db: Database, mailer: FlakyOutbox
) -> None:
    me, owner = new_account(db)
    delivery = send(core, me, to=["finance@example.org", owner.upper()])  # the owner's twice: once
    assert delivery.sent_to == [owner, "finance@example.org"] and delivery.already_sent_to == []
    mails = outbox(mailer)
    assert sorted(m["To"] for m in mails) == sorted([owner, "finance@example.org"])
    for mail in mails:
        assert mail["Subject"] == "Budget 'Prod' at 80% of $500.00"
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert body.startswith("Your budget 'Prod' has used $400.00 of $500.00 this month.\n\n")
        assert body.rstrip().endswith(FOOTER)

    [event] = db["audit_events"].find({"action": "alert.email_sent"})
    assert (event["account_id"], event["actor"], event["outcome"]) == (me, "service:usage", "success")
    assert event["target"] == {"type": "alert", "id": "budget:b1:2027-01:80"}
    assert event["details"]["recipients"] == 2
    assert event["details"]["sent_to"] == [owner, "finance@example.org"]


def test_only_further_addresses_when_the_owner_is_left_out(
    core: Core, db: Database, mailer: FlakyOutbox
) -> None:
    me, _ = new_account(db)
    assert send(core, me, to_owner=False, to=["ops@example.org"]).sent_to == ["ops@example.org"]
    assert [m["To"] for m in outbox(mailer)] == ["ops@example.org"]


def test_a_repeat_with_the_same_key_sends_nothing_again(
    core: Core, db: Database, mailer: FlakyOutbox
) -> None:
    me, owner = new_account(db)
    send(core, me, to=["a@example.org"])
    again = send(core, me, to=["A@example.org"])
    assert again.sent_to == [] and again.already_sent_to == [owner, "A@example.org"]
    assert len(outbox(mailer)) == 2

    # A new address under the same key is mailed, the others not; another key mails everyone.
    wider = send(core, me, to=["a@example.org", "b@example.org"])
    assert wider.sent_to == ["b@example.org"] and wider.already_sent_to == [owner, "a@example.org"]
    assert len(send(core, me, key="budget:b1:2027-01:100").sent_to) == 1
    assert len(outbox(mailer)) == 4
    assert db["audit_events"].count_documents({"action": "alert.email_sent"}) == 3  # not for the no-op


def test_the_sent_record_expires_after_three_days(core: Core, db: Database, clock: Clock) -> None:
    me, _ = new_account(db)
    send(core, me)
    [doc] = db["alert_emails_sent"].find({})
    assert doc["_id"].startswith("budget:b1:2027-01:80|owner.")
    assert doc["expires_at"] - doc["sent_at"] == dt.timedelta(days=3)
    ttl = db["alert_emails_sent"].index_information()["expiry_ttl"]
    assert ttl["expireAfterSeconds"] == 0


def test_an_unverified_account_is_refused_and_an_unknown_one_is_not_found(
    core: Core, db: Database, mailer: FlakyOutbox
) -> None:
    me, _ = new_account(db, verified=False)
    with pytest.raises(FailedPrecondition, match="verified"):
        send(core, me)
    with pytest.raises(NotFound):
        send(core, uuid.uuid4().hex)
    assert outbox(mailer) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": [f"p{i}@example.org" for i in range(11)]}, "to"),
        ({"to": ["not-an-address"]}, "to"),
        ({"to_owner": False, "to": []}, "to"),
        ({"subject": "Alert\r\nBcc: victim@example.org"}, "subject"),
        ({"subject": "Alert\nmore"}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "  "}, "subject"),
        ({"text": "x" * 20_001}, "text"),
        ({"text": ""}, "text"),
        ({"key": ""}, "idempotency_key"),
        ({"key": "has space"}, "idempotency_key"),
        ({"key": "k" * 201}, "idempotency_key"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    core: Core, db: Database, mailer: FlakyOutbox, overrides: dict[str, Any], field: str
) -> None:
    me, _ = new_account(db)
    with pytest.raises(InvalidArgument) as caught:
        send(core, me, **overrides)
    assert dict(caught.value.metadata)["x-field"] == field  # type: ignore[attr-defined]
    assert outbox(mailer) == []


def test_the_limits_themselves_are_allowed(core: Core, db: Database, mailer: FlakyOutbox) -> None:
    me, _ = new_account(db)
    ten = [f"p{i}@example.org" for i in range(10)]
    delivery = send(core, me, to=ten, subject="s" * 200, text="t" * 20_000, key="k" * 200)
    assert len(delivery.sent_to) == 11 and len(outbox(mailer)) == 11


def test_the_daily_cap_counts_each_recipient_and_resets_at_utc_midnight(
    core: Core, db: Database, clock: Clock, mailer: FlakyOutbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "DAILY_CAP", 3)
    me, _ = new_account(db)
    other, _ = new_account(db)
    send(core, me, to=["a@example.org"], key="k1")  # 2 of 3
    with pytest.raises(Throttled) as caught:
        send(core, me, to=["a@example.org"], key="k2")  # 2 more: all or none
    midnight = dt.datetime(2027, 1, 16, tzinfo=dt.UTC).timestamp()
    assert caught.value.retry_after == int(midnight - clock.t)
    assert "limit of 3 alert emails for today" in str(caught.value)
    assert send(core, me, to_owner=False, to=["a@example.org"], key="k2").sent_to  # 3 of 3
    assert send(core, other, key="k1").sent_to  # another account has its own cap
    with pytest.raises(Throttled):
        send(core, me, key="k3")
    denied = db["audit_events"].find_one(
        {"action": "alert.email_sent", "target.id": "k2", "outcome": "denied"}
    )
    assert denied["details"] == {"reason": "daily_cap", "unsent": 2}

    clock.t = midnight
    assert send(core, me, key="k3").sent_to
    assert len(outbox(mailer)) == 5


def test_a_provider_failure_is_unavailable_and_a_retry_sends_only_what_did_not_go(
    core: Core, db: Database, mailer: FlakyOutbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "DAILY_CAP", 3)
    me, owner = new_account(db)
    mailer.refuse = {"b@example.org"}
    with pytest.raises(Unavailable) as caught:
        send(core, me, to=["b@example.org", "c@example.org"])
    assert str(caught.value) == "The mail provider did not accept the message."
    assert [m["To"] for m in outbox(mailer)] == [owner]
    failed = db["audit_events"].find_one({"action": "alert.email_sent", "outcome": "failure"})
    assert failed["details"]["sent_to"] == [owner] and failed["details"]["unsent"] == 2

    # The two unsent were given back to the cap, so the retry (3 of 3 in all) fits.
    mailer.refuse = set()
    retry = send(core, me, to=["b@example.org", "c@example.org"])
    assert retry.sent_to == ["b@example.org", "c@example.org"] and retry.already_sent_to == [owner]
    assert len(outbox(mailer)) == 3


def test_only_usage_may_send_alert_emails() -> None:
    from auth.server import SERVICE, allowlist

    assert allowlist()[f"/{SERVICE}/SendAlertEmail"] == ("usage",)
