"""Day tables and the group-by: exact money at mixed scales, every shape equal to a plain sum of
the entries, and the two shortcuts (per day, per day and platform) equal to the full walk."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from usage.daytable import FLAG_ESTIMATED, FLAG_PROVISIONAL, DayTable, Entry, SeriesTable, to_scaled
from usage.grouping import GROUP_FIELDS, Match, group

PLATFORMS = ("openai", "anthropic", "deepgram")
MODELS = ("gpt-4o", "o3", "claude", "nova")


def entries(rng: random.Random, n: int) -> list[Entry]:
    seen, out = set(), []
    while len(out) < n:
        series = (
            rng.choice(PLATFORMS),
            rng.choice(MODELS),
            rng.choice(("api", "file")),
            rng.choice("ab"),
            rng.choice(("", "proj_1", "proj_2")),  # "": the provider does not attribute it
            rng.choice(("", "key_1")),
        )
        if series in seen:
            continue
        seen.add(series)
        cost = Decimal(rng.randint(-50, 10**9)).scaleb(-rng.randint(0, 12))
        names = rng.sample(["input_uncached_tokens", "output_tokens", "requests"], 2)
        units = {u: rng.randint(0, 10**6) for u in names}
        flags = rng.choice((0, 0, 0, FLAG_PROVISIONAL, FLAG_ESTIMATED))
        out.append(Entry(series, cost, units, flags))
    return out


def brute(days: dict[str, list[Entry]], group_by: list[str], match: Match) -> dict:
    out: dict = {}
    for date, rows in days.items():
        for e in rows:
            if not match(e.series):
                continue
            fields = ("platform", "model", "source", "credential_id", "project", "api_key")
            values = {"day": date, **dict(zip(fields, e.series, strict=True))}
            key = tuple(values[n] for n in group_by)
            cost, units, n, flags = out.get(key, (Decimal(0), {}, 0, 0))
            units = dict(units)
            for u, c in e.units.items():
                units[u] = units.get(u, 0) + c
            out[key] = (cost + e.cost_usd, units, n + 1, flags | e.flags)
    return out


@pytest.fixture(scope="module")
def data() -> tuple[dict[str, list[Entry]], list[DayTable], SeriesTable]:
    rng = random.Random(7)
    table = SeriesTable()
    days = {f"2026-11-{d:02d}": entries(rng, rng.randint(0, 30)) for d in range(1, 29)}
    tables = [DayTable.build(date, 1, rows, table) for date, rows in days.items()]
    return days, tables, table


SHAPES = [list(p) for r in range(0, 3) for c in itertools.combinations(GROUP_FIELDS, r) for p in [c]]
MATCHES = [
    Match(),
    Match(platforms=frozenset({"openai"})),
    Match(platforms=frozenset({"openai", "deepgram"}), sources=frozenset({"api"})),
    Match(models=frozenset({"o3"}), credentials=frozenset({"b"})),
    Match(projects=frozenset({"", "proj_2"}), api_keys=frozenset({"key_1"})),
]


EXTRA_SHAPES = [["model", "day", "platform"], ["credential_id", "source"], ["project", "api_key", "day"]]


@pytest.mark.parametrize("match", MATCHES)
@pytest.mark.parametrize("group_by", SHAPES + EXTRA_SHAPES)
def test_every_shape_equals_a_plain_sum_of_the_entries(data, group_by, match) -> None:
    days, tables, table = data
    got = group(tables, table, group_by, match)
    want = brute(days, group_by, match)
    assert set(got) == set(want)
    for key, totals in got.items():
        cost, units, n, flags = want[key]
        assert totals.cost_usd() == cost and totals.cost_usd() == cost.normalize()
        assert totals.units == units and totals.records == n and totals.flags == flags


def test_shortcuts_agree_with_the_full_walk(data) -> None:
    days, tables, table = data
    # A match that accepts everything but is not the empty Match() forces the full walk.
    everything = Match(sources=frozenset({"api", "file"}))
    for group_by in (["day"], [], ["day", "platform"], ["platform"]):
        assert {k: v.cost_usd() for k, v in group(tables, table, group_by, Match()).items()} == {
            k: v.cost_usd() for k, v in group(tables, table, group_by, everything).items()
        }


def test_costs_that_overflow_int64_stay_exact() -> None:
    table = SeriesTable()
    huge = Decimal("999999999999.123456789012345678")
    rows = [
        Entry(("openai", "m", "api", "", "", ""), huge, {}),
        Entry(("openai", "n", "api", "", "", ""), Decimal("0.1"), {}),
    ]
    day = DayTable.build("2026-11-01", 1, rows, table)
    assert isinstance(day.costs, list)
    total = group([day], table, [], Match())[()].cost_usd()
    assert total == Decimal("999999999999.223456789012345678")  # 30 digits: nothing rounded


def test_scaled_integers_are_exact() -> None:
    assert to_scaled(Decimal("1.5"), 3) == 1500
    assert to_scaled(Decimal("-0.0000001"), 7) == -1
    assert to_scaled(Decimal("1E+3"), 0) == 1000
    assert to_scaled(Decimal("0"), 5) == 0


def test_series_are_numbered_once() -> None:
    table = SeriesTable()
    a = table.id_of(("openai", "m", "api", "", "", ""))
    assert table.id_of(("openai", "m", "api", "", "", "")) == a
    assert table.id_of(("openai", "m", "file", "", "", "")) == a + 1


def test_every_attribution_grouping_adds_up_to_the_total(data) -> None:
    """Whatever attribution grouping, unattributed entries included (the "" group), the groups
    sum to the total to the last digit."""
    days, tables, table = data
    total = group(tables, table, [], Match())[()].cost_usd()
    for group_by in (["project"], ["api_key"], ["project", "api_key"], ["platform", "project"]):
        groups = group(tables, table, group_by, Match())
        assert sum((t.cost_usd() for t in groups.values()), Decimal(0)) == total
        assert any(key[-1] == "" for key in groups)  # the unattributed group is there


def test_rollups_built_before_attribution_read_as_unattributed() -> None:
    table = SeriesTable()
    old = {
        "p": ["openai"], "m": ["m"], "s": ["api"], "k": ["c1"],
        "scale": 1, "cost": [15], "units": [], "flagged": [],
    }  # fmt: skip
    day = DayTable.from_columns("2026-11-01", 1, old, table)
    assert table.series[day.series_ids[0]] == ("openai", "m", "api", "c1", "", "")
