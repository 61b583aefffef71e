"""Budget and alert-settings validation as a request reaches it (usage.v1 BudgetInput through
convert.budget_settings): every refusal is an InvalidField naming its field in x-field metadata,
the one the gateway turns into errors[]; accepted values come back normalized."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from aicosts.usage.v1 import alerts_pb2 as pb
from svccommon.errors import InvalidField
from usage.alerts.convert import budget_settings
from usage.alerts.settings import check_alert_settings


def request(**overrides: Any) -> pb.BudgetInput:
    scope = overrides.pop("scope", {})
    values: dict[str, Any] = {
        "name": "Team",
        "amount_usd": "100.00",
        "thresholds": [50, 80, 100],
        "email_owner": True,
    }
    values.update(overrides)
    return pb.BudgetInput(scope=pb.BudgetScope(**scope), **values)


def refused_field(**overrides: Any) -> str:
    with pytest.raises(InvalidField) as caught:
        budget_settings(request(**overrides))
    [(key, name)] = caught.value.metadata
    assert key == "x-field"
    assert str(caught.value).startswith(name), "the message names its field"
    return name


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "-5", "100.001", "1000000000.01", "1e12", "ten", "", "NaN", "Infinity", "12,50"],
)
def test_amounts_that_are_not_a_positive_number_of_cents_up_to_a_billion_are_refused(amount: str) -> None:
    assert refused_field(amount_usd=amount) == "amount_usd"


@pytest.mark.parametrize("amount", ["0.01", "100", "1000000000", " 84.5 "])
def test_amounts_accepted_are_exact(amount: str) -> None:
    assert budget_settings(request(amount_usd=amount)).amount_usd == Decimal(amount.strip())


def test_custom_periods_need_two_days_in_order_within_366_days() -> None:
    custom = {"period": "custom"}
    assert refused_field(**custom, start_date="2026-10-10", end_date="2026-10-09") == "end_date"
    assert refused_field(**custom, start_date="2026-01-01", end_date="2027-01-02") == "end_date"
    assert refused_field(**custom, start_date="2026-13-01", end_date="2026-12-31") == "start_date"
    assert refused_field(**custom, start_date="2026-10-01", end_date="") == "end_date"
    s = budget_settings(request(**custom, start_date="2026-01-01", end_date="2027-01-01"))  # 366 days
    assert (s.start_date, s.end_date) == (dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    one_day = budget_settings(request(**custom, start_date="2026-10-10", end_date="2026-10-10"))
    assert one_day.period_on(dt.date(2026, 10, 10)) == (dt.date(2026, 10, 10),) * 2
    assert one_day.period_on(dt.date(2026, 10, 11)) is None


def test_a_monthly_budget_takes_no_dates_and_an_unknown_period_is_refused() -> None:
    assert refused_field(start_date="2026-10-01") == "start_date"
    assert refused_field(end_date="2026-10-31") == "start_date"
    assert refused_field(period="weekly") == "period"


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({"kind": "team"}, "scope.kind"),
        ({"kind": "platform", "platform": "openia"}, "scope.platform"),
        ({"kind": "platform"}, "scope.platform"),
        ({"kind": "model", "platform": "openai"}, "scope.model"),
        ({"kind": "model", "platform": "openai", "model": "gpt\n4o"}, "scope.model"),
        ({"kind": "model", "platform": "openai", "model": "m" * 201}, "scope.model"),
        ({"kind": "credential", "credential_id": "A" * 32}, "scope.credential_id"),
        ({"kind": "credential", "credential_id": "a" * 31}, "scope.credential_id"),
        ({"kind": "credential"}, "scope.credential_id"),
    ],
)
def test_scopes_name_a_known_platform_a_model_or_a_well_formed_key(scope: dict, field: str) -> None:
    assert refused_field(scope=scope) == field


def test_a_scope_keeps_only_the_fields_of_its_kind() -> None:
    s = budget_settings(request(scope={"kind": "platform", "platform": "anthropic", "model": "claude"}))
    assert (s.scope.kind, s.scope.platform, s.scope.model) == ("platform", "anthropic", "")
    assert s.filter_values() == {"platforms": ("anthropic",), "models": (), "credentials": ()}
    key = budget_settings(request(scope={"kind": "credential", "credential_id": "c" * 32}))
    assert key.filter_values() == {"platforms": (), "models": (), "credentials": ("c" * 32,)}
    assert budget_settings(request()).scope.kind == "account"


@pytest.mark.parametrize("name", ["thresholds", "forecast_thresholds"])
def test_thresholds_are_1_to_1000_percent_at_most_ten(name: str) -> None:
    assert refused_field(**{name: [0]}) == name
    assert refused_field(**{name: [50, 1001]}) == name
    assert refused_field(**{name: list(range(10, 120, 10))}) == name  # eleven
    s = budget_settings(request(**{name: [100, 50, 80, 50, 1000, 1]}))
    assert getattr(s, name) == (1, 50, 80, 100, 1000)


def test_a_budget_needs_at_least_one_threshold() -> None:
    assert refused_field(thresholds=[]) == "thresholds"
    only_forecast = budget_settings(request(thresholds=[], forecast_thresholds=[100]))
    assert (only_forecast.thresholds, only_forecast.forecast_thresholds) == ((), (100,))


def test_emails_are_checked_at_most_ten_and_deduplicated_ignoring_case() -> None:
    for bad in (
        "not-an-email",
        "a@b",
        "two@@example.org",
        "x\ny@example.org",
        "<x@example.org>",
        "x@exa mple.org",
    ):
        assert refused_field(emails=[bad]) == "emails"
    assert refused_field(emails=[f"u{i}@example.org" for i in range(11)]) == "emails"
    s = budget_settings(request(emails=["Ops@Example.org", "ops@example.org", " cfo@example.org "]))
    assert s.emails == ("Ops@example.org", "cfo@example.org")  # the domain normalized, as auth does


def test_a_budget_needs_someone_to_tell() -> None:
    assert refused_field(email_owner=False) == "email_owner"
    assert budget_settings(request(email_owner=False, emails=["ops@example.org"])).has_recipients()
    assert budget_settings(request(email_owner=False, destination_ids=["d1"])).destination_ids == ("d1",)


def test_names_and_destination_ids_are_checked() -> None:
    assert refused_field(name="  ") == "name"
    assert refused_field(name="a\u2028b") == "name"
    assert refused_field(name="x" * 101) == "name"
    assert refused_field(destination_ids=["../etc"]) == "destination_ids"
    assert refused_field(destination_ids=[f"d{i}" for i in range(11)]) == "destination_ids"


def test_alert_settings_refusals_name_their_field() -> None:
    base: dict[str, Any] = {
        "anomalies_enabled": True,
        "sensitivity": "normal",
        "min_usd": "",
        "email_owner": True,
        "emails": [],
        "destination_ids": [],
    }
    for overrides, name in (
        ({"sensitivity": "paranoid"}, "sensitivity"),
        ({"min_usd": "-1"}, "min_usd"),
        ({"min_usd": "lots"}, "min_usd"),
        ({"emails": ["nobody"]}, "emails"),
        ({"email_owner": False}, "email_owner"),
    ):
        with pytest.raises(InvalidField) as caught:
            check_alert_settings(**{**base, **overrides})
        assert caught.value.metadata == (("x-field", name),)
    assert check_alert_settings(**base).min_usd == Decimal("20.00")
    quiet = check_alert_settings(**{**base, "anomalies_enabled": False, "email_owner": False})
    assert not quiet.anomalies_enabled  # nobody to tell is fine while detection is off
