"""The plan catalog: one place for limits, cheapest-first lookups, and the public view."""

from __future__ import annotations

from decimal import Decimal

import pytest
from svccommon.plans import FREE, PLANS, PROFESSIONAL, UnknownPlan, cheapest_plan, effective_plan, get_plan


def test_the_two_plans_and_their_limits() -> None:
    assert list(PLANS) == ["free", "professional"]
    assert (FREE.max_credentials, FREE.history_days, FREE.ai_parsing, FREE.csv_export) == (
        3,
        90,
        False,
        False,
    )
    assert (PROFESSIONAL.max_credentials, PROFESSIONAL.history_days) == (None, 365)
    assert PROFESSIONAL.ai_parsing and PROFESSIONAL.csv_export and PROFESSIONAL.paid and not FREE.paid
    assert FREE.allows_credentials(3) and not FREE.allows_credentials(4)
    assert PROFESSIONAL.allows_credentials(10_000)


def test_lookups() -> None:
    assert get_plan("professional") is PROFESSIONAL
    with pytest.raises(UnknownPlan, match="unknown plan 'gold'"):
        get_plan("gold")
    assert effective_plan("") is FREE and effective_plan(None) is FREE and effective_plan("legacy") is FREE
    assert cheapest_plan(lambda p: p.ai_parsing) is PROFESSIONAL
    assert cheapest_plan(lambda p: True) is FREE
    assert cheapest_plan(lambda p: p.history_days > 365) is None


def test_public_view_has_money_as_a_decimal_string() -> None:
    view = PROFESSIONAL.to_dict()
    assert view["price_usd_month"] == str(PROFESSIONAL.price_usd_month)
    assert Decimal(view["price_usd_month"]) == PROFESSIONAL.price_usd_month
    assert view["features"] == list(PROFESSIONAL.features) and view["max_credentials"] is None
