"""Property: every summary shape equals a brute-force sum over the stored records, whatever
sequence of writes came before. Hypothesis drives random syncs, re-syncs that change a day,
file imports, import deletion, credential deletion and plan downgrades against the real stores
on the test database, and after each step compares the answers of two independent query
objects (two "replicas", each with its own in-memory cache) with the records themselves."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from usage.accountplans import AccountPlans
from usage.daytable import canonical, exact_sum
from usage.imports import RecordInput
from usage.planstore import PlanStore
from usage.queries import UsageQueries
from usage.records import UsageRecord

from .conftest import MemoryCredentials

PLATFORMS = ("openai", "anthropic")
MODELS = ("gpt-4o", "o3", "claude-opus-5")
CREDENTIALS = ("c" * 32, "d" * 32)
UPLOADS = ("u" * 32, "v" * 32)
DAYS_BACK = 40  # spans a month boundary and last month's same days

costs = st.decimals(min_value=Decimal("-5"), max_value=Decimal("5000"), places=7, allow_nan=False)
days_ago = st.integers(min_value=0, max_value=DAYS_BACK)
# (model, cost, tokens, the provider's project, the provider's key); "" is unattributed.
model_sets = st.lists(
    st.tuples(
        st.sampled_from(MODELS),
        costs,
        st.integers(0, 10**7),
        st.sampled_from(("", "proj_1", "proj_2")),
        st.sampled_from(("", "key_1")),
    ),
    max_size=3,
)

SHAPES = (
    [],
    ["day"],
    ["platform", "model"],
    ["day", "platform"],
    ["source", "credential_id"],
    ["model", "day", "platform", "source", "credential_id"],
    ["project"],
    ["api_key", "day"],
    ["platform", "project", "api_key"],
)


def brute_force(db: Any, account: str, first: str, last: str, keep: dict[str, Any]) -> dict:
    """Groups straight from usage_records: (group key) -> (cost, units, records)."""
    out: dict = {}
    for doc in db["usage_records"].find({"account_id": account}):
        values = {
            "day": doc["date"],
            **doc,
            "project": doc.get("project_id") or "",
            "api_key": doc.get("api_key_id") or "",
        }
        if not first <= doc["date"] <= last or any(values[f] not in v for f, v in keep.items()):
            continue
        for shape in SHAPES:
            key = (tuple(shape), tuple(values[n] for n in shape))
            cost, units, n = out.get(key, (Decimal(0), {}, 0))
            units = dict(units)
            for name, count in (doc.get("units") or {}).items():
                units[name] = units.get(name, 0) + count
            out[key] = (exact_sum([cost, doc["cost_usd"].to_decimal()]), units, n + 1)
    return out


class Writes(RuleBasedStateMachine):
    harness: Any = None

    @initialize()
    def start(self) -> None:
        h = self.harness
        self.account = uuid.uuid4().hex
        self.replicas = [h.queries, UsageQueries(h.records, h.clock)]
        self.plans = AccountPlans(PlanStore(h.db), MemoryCredentials(), h.clock)

    @rule(
        credential=st.sampled_from(CREDENTIALS),
        platform=st.sampled_from(PLATFORMS),
        back=days_ago,
        models=model_sets,
    )
    def sync_day(self, credential: str, platform: str, back: int, models: list) -> None:
        """A sync (or a re-sync changing the day): the day of this key is replaced as a whole."""
        h = self.harness
        day = h.day(back)
        records = {
            (m, project, key): UsageRecord(
                platform,
                day,
                m,
                "api",
                cost_usd=c,
                units={"input_uncached_tokens": t},
                provisional=back < 2,
                project_id=project,
                api_key_id=key,
            )
            for m, c, t, project, key in models
        }
        rows = list(records.values())
        h.records.replace_day(self.account, credential, platform, day, rows, "run", h.clock())

    @rule(
        credential=st.sampled_from(CREDENTIALS),
        platform=st.sampled_from(PLATFORMS),
        backs=st.lists(days_ago, min_size=1, max_size=5, unique=True),
        models=model_sets,
    )
    def sync_run(self, credential: str, platform: str, backs: list[int], models: list) -> None:
        """A whole sync run: several days written inside one deferred rollup block."""
        h = self.harness
        days = [h.day(b).isoformat() for b in backs]
        with h.records.rollups.deferred(self.account, days):
            for back in backs:
                self.sync_day(credential, platform, back, models)

    @rule(
        upload=st.sampled_from(UPLOADS),
        rows=st.lists(
            st.tuples(st.sampled_from(PLATFORMS), days_ago, st.sampled_from(MODELS), costs),
            min_size=1,
            max_size=4,
        ),
    )
    def import_file(self, upload: str, rows: list) -> None:
        h = self.harness
        inputs = [
            RecordInput(p, h.day(back).isoformat(), m, str(c), {"characters": 3}, estimated=back % 2 == 0)
            for p, back, m, c in rows
        ]
        h.importer.import_upload(self.account, upload, inputs)

    @rule(upload=st.sampled_from(UPLOADS))
    def delete_import(self, upload: str) -> None:
        self.harness.importer.delete_upload(self.account, upload)

    @rule(credential=st.sampled_from(CREDENTIALS))
    def delete_credential(self, credential: str) -> None:
        self.harness.syncs.forget(self.account, credential, delete_records=True)

    @rule(plan=st.sampled_from(("free", "professional")))
    def change_plan(self, plan: str) -> None:
        self.plans.set_plan(self.account, plan)

    @invariant()
    def every_summary_equals_the_records(self) -> None:
        h = self.harness
        if not hasattr(self, "account"):
            return
        today = h.day(0)
        first = h.day(DAYS_BACK).isoformat()
        keeps: list[dict[str, Any]] = [
            {},
            {"platform": {"openai"}},
            {"source": {"file"}},
            {"credential_id": {CREDENTIALS[0]}},
            {"project": {"", "proj_2"}},
            {"api_key": {"key_1"}},
        ]
        for keep in keeps:
            want = brute_force(h.db, self.account, first, today.isoformat(), keep)
            for replica in self.replicas:
                flt = replica.make_filter(
                    self.account,
                    first,
                    today.isoformat(),
                    platforms=sorted(keep.get("platform", ())),
                    source=next(iter(keep.get("source", ())), ""),
                    credentials=sorted(keep.get("credential_id", ())),
                    projects=sorted(keep.get("project", ())),
                    api_keys=sorted(keep.get("api_key", ())),
                )
                for shape in SHAPES:
                    got = replica.summary(flt, shape)
                    expected = {k: v for (s, k), v in want.items() if list(s) == shape}
                    answered = {
                        tuple(g.key[n] for n in shape): (g.cost_usd, g.units, g.records) for g in got.groups
                    }
                    assert answered == {k: (canonical(c), u, n) for k, (c, u, n) in expected.items()}
                    assert got.total_cost_usd == sum((c for c, _, _ in expected.values()), Decimal(0))
                top = replica.summary(flt, ["model"], top=1)
                folded = top.others.cost_usd if top.others else Decimal(0)
                assert exact_sum([*(g.cost_usd for g in top.groups), folded]) == top.total_cost_usd
        month = self.replicas[1].month_to_date(self.replicas[1].make_filter(self.account, "", ""), today)
        for period in (month.current, month.previous):
            want = brute_force(h.db, self.account, period.first.isoformat(), period.last.isoformat(), {})
            assert period.totals.cost_usd == canonical(want.get(((), ()), (Decimal(0), {}, 0))[0])


@pytest.mark.timeout(600)
def test_summaries_equal_the_records_after_any_writes(harness: Any) -> None:
    harness.clock.now = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)  # early in a month
    Writes.harness = harness
    run_state_machine_as_test(
        Writes,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
