"""What the parser's servicer sends for stored money: always a plain decimal string (the gateway's
answer models refuse scientific notation, so "4E-7" would turn an upload page into a 500)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128
from parser.service import record_message


@pytest.mark.parametrize(
    ("stored", "sent"),
    [("0.00000000", "0.00000000"), ("0.0000004", "0.0000004"), ("12.50", "12.50"), ("1E+2", "100")],
)
def test_stored_money_is_sent_as_a_plain_decimal(stored: str, sent: str) -> None:
    doc = {
        "platform": "openai",
        "date": dt.date(2026, 11, 30).isoformat(),
        "model": "gpt-4o",
        "cost_usd": Decimal128(Decimal(stored)),
        "units": {},
        "line_items": [],
    }
    message = record_message(doc)
    assert message.cost_usd == sent
    assert "E" not in message.cost_usd
