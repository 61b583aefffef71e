"""Database contract, Decimal128 money (usage.recordstore, parser.store): exact round trips, sums and
comparisons. Why the contract exists and how known defects of the embedded database are handled:
support/db_contract.py; fixtures: conftest.py here."""

from __future__ import annotations

import random
from decimal import Decimal

from bson.decimal128 import Decimal128
from pymongo import ASCENDING

# --- Decimal128 money (usage.recordstore, parser.store) ------------------------------------------


def test_decimal128_round_trip_is_exact(db):
    """usage.recordstore, parser.store: money stored as Decimal128 comes back digit for digit
    (coefficient and exponent, so trailing zeros too)."""
    values = [
        Decimal("0.0000001"),
        Decimal("1234567.123456789012"),
        Decimal("-0.0000001"),
        Decimal("-98765.4321000"),
        Decimal("1.50"),
        Decimal("0"),
        Decimal("9999999999999999999999999999.999999"),  # 34 significant digits
    ]
    db["money"].insert_many([{"_id": i, "v": Decimal128(v)} for i, v in enumerate(values)])
    stored = [d["v"].to_decimal() for d in db["money"].find().sort("_id", ASCENDING)]
    assert [v.as_tuple() for v in stored] == [v.as_tuple() for v in values]


def test_decimal128_sum_in_group_is_exact(db):
    """Money sums inside the database (bench/fig_summary.py's direct-aggregation baseline; the
    services sum in Python): $sum of Decimal128 inside $group equals the Decimal sum of the same
    values; no float on the way (200 values with 7 decimals, mixed signs)."""
    rng = random.Random(11)
    values = [Decimal(rng.randint(-(10**11), 10**12)).scaleb(-7) for _ in range(200)]
    db["money"].insert_many([{"g": i % 3, "v": Decimal128(v)} for i, v in enumerate(values)])
    rows = db["money"].aggregate([{"$group": {"_id": "$g", "s": {"$sum": "$v"}}}])
    got = {r["_id"]: r["s"] for r in rows}
    assert all(isinstance(s, Decimal128) for s in got.values())
    assert {g: s.to_decimal() for g, s in got.items()} == {g: sum(values[g::3], Decimal(0)) for g in range(3)}
    (total,) = db["money"].aggregate([{"$group": {"_id": None, "s": {"$sum": "$v"}}}])
    assert total["s"].to_decimal() == sum(values, Decimal(0))


def test_decimal128_comparisons(db):
    """usage.recordstore, parser.store: $gt on Decimal128 compares by value (1E-7 == 1.0E-7),
    against Decimal128 and against an integer alike."""
    values = ["-1", "-0.0000001", "0", "0.0000001", "0.00000010", "0.0000002", "1234567.123456789012"]
    db["money"].insert_many([{"v": Decimal128(v)} for v in values])
    above = db["money"].find({"v": {"$gt": Decimal128("0.0000001")}})
    assert sorted(d["v"].to_decimal() for d in above) == [
        Decimal("0.0000002"),
        Decimal("1234567.123456789012"),
    ]
    assert db["money"].count_documents({"v": {"$gt": 0}}) == 4
    assert db["money"].count_documents({"v": Decimal128("1E-7")}) == 2
