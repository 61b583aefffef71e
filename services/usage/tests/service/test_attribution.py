"""The provider's attribution end to end in-process: real connectors against the fakes (which
list projects/workspaces/keys as documented), real stores. Every grouping adds up to the
provider's bill to the cent, unattributed money included; names follow the provider, ids stay."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bson.decimal128 import Decimal128
from usage.grouping import GROUP_FIELDS

CRED = "a" * 32
CRED_ANT = "d" * 32
CRED_DG = "e" * 32
GROUPINGS = [["project"], ["api_key"], ["project", "api_key"], ["platform", "project"], ["day", "api_key"]]


def cost(day: Any, amount: str, line_item: str, project: str, key: str) -> dict[str, Any]:
    return {"date": day, "amount": amount, "line_item": line_item, "project_id": project, "api_key_id": key}


def load_openai(tenant: Any, harness: Any) -> Decimal:
    """Costs over two projects, two keys, and lines OpenAI attributes to no project (returns the bill)."""
    d1, d2 = harness.day(3), harness.day(2)
    costs = [
        cost(d1, "12.50", "gpt-4o, input", "proj_a", "key_1"),
        cost(d1, "0.015", "gpt-4o, input", "proj_a", "key_2"),
        cost(d1, "3.333333", "o3, output", "proj_b", "key_3"),
        {"date": d2, "amount": "0.1", "line_item": "assistants api | file search"},  # no project, no key
        {"date": d2, "amount": "1.01", "line_item": "gpt-4o, output", "project_id": "proj_b"},  # no key
    ]  # fmt: skip
    tenant.load_costs(costs)
    tenant.load_usage(
        "completions",
        [
            {"date": d1, "model": "gpt-4o", "input_tokens": 100, "output_tokens": 10, "num_model_requests": 2,
             "project_id": "proj_a", "api_key_id": "key_1"},
            {"date": d1, "model": "o3", "input_tokens": 7, "output_tokens": 1, "num_model_requests": 1,
             "project_id": "proj_b", "api_key_id": "key_3"},
        ],
    )  # fmt: skip
    tenant.project_names = {"proj_a": "Search", "proj_b": "Support bot"}
    tenant.key_names = {"proj_a": {"key_1": "prod", "key_2": "staging"}, "proj_b": {"key_3": "ci"}}
    return sum((Decimal(str(c["amount"])) for c in costs), Decimal(0))


def summary(harness: Any, group_by: list[str], **filters: Any) -> Any:
    flt = harness.queries.make_filter(harness.account, "", "", **filters)
    return harness.queries.summary(flt, group_by)


def test_openai_projects_and_keys_add_up_to_the_bill_and_carry_names(harness: Any) -> None:
    tenant = harness.connect("openai", CRED)
    bill = load_openai(tenant, harness)
    assert harness.sync(CRED)["status"] == "succeeded"

    assert summary(harness, []).total_cost_usd == bill == Decimal("16.958333")
    for group_by in GROUPINGS:
        groups = summary(harness, group_by).groups
        assert sum((g.cost_usd for g in groups), Decimal(0)) == bill, group_by

    projects = {g.key["project"]: g for g in summary(harness, ["project"]).groups}
    assert projects["proj_a"].cost_usd == Decimal("12.515")
    assert projects["proj_b"].cost_usd == Decimal("4.343333")
    assert projects[""].cost_usd == Decimal("0.1")  # the explicit unattributed group
    assert projects["proj_a"].names == {"project_name": "Search"} and projects[""].names == {}
    keys = {g.key["api_key"]: g for g in summary(harness, ["api_key"]).groups}
    assert keys["key_1"].cost_usd == Decimal("12.50") and keys["key_1"].names == {"api_key_name": "prod"}
    assert keys["key_1"].units["requests"] == 2
    assert keys[""].cost_usd == Decimal("1.11")

    # Filters: a project, and the unattributed rows ("").
    assert summary(harness, [], projects=["proj_b"]).total_cost_usd == Decimal("4.343333")
    assert summary(harness, [], projects=[""]).total_cost_usd == Decimal("0.1")
    assert summary(harness, [], api_keys=["key_2", ""]).total_cost_usd == Decimal("1.125")

    # The provider renames a project and a key: ids and money stay, names follow.
    tenant.project_names["proj_a"] = "Search v2"
    tenant.key_names["proj_a"]["key_1"] = "production"
    assert harness.sync(CRED)["status"] == "succeeded"
    projects = {g.key["project"]: g for g in summary(harness, ["project"]).groups}
    assert projects["proj_a"].names == {"project_name": "Search v2"}
    assert projects["proj_a"].cost_usd == Decimal("12.515")
    keys = {g.key["api_key"]: g for g in summary(harness, ["api_key"]).groups}
    assert keys["key_1"].names == {"api_key_name": "production"}
    assert summary(harness, []).total_cost_usd == bill


def test_anthropic_workspaces_and_deepgram_projects(harness: Any) -> None:
    ant = harness.connect("anthropic", CRED_ANT)
    day = harness.day(2)
    ant.load_costs(
        [
            {"date": day, "amount": "250.5", "model": "claude-opus-5", "workspace_id": "wrkspc_1"},
            {"date": day, "amount": "10", "model": "claude-opus-5", "description": "in"},  # default workspace
        ]
    )  # fmt: skip
    ant.load_usage(
        [{"date": day, "model": "claude-opus-5", "uncached_input_tokens": 9, "output_tokens": 1,
          "workspace_id": "wrkspc_1", "api_key_id": "apikey_1"}]
    )  # fmt: skip
    ant.workspace_names = {"wrkspc_1": "Research"}
    ant.key_names = {"apikey_1": "notebook"}
    dg = harness.connect("deepgram", CRED_DG)
    assert harness.sync(CRED_ANT)["status"] == "succeeded"
    assert harness.sync(CRED_DG)["status"] == "succeeded"
    bill = Decimal("2.605")
    for group_by in GROUPINGS:
        groups = summary(harness, group_by, platforms=["anthropic"]).groups
        assert sum((g.cost_usd for g in groups), Decimal(0)) == bill, group_by
    projects = {g.key["project"]: g for g in summary(harness, ["project"], platforms=["anthropic"]).groups}
    assert projects["wrkspc_1"].cost_usd == Decimal("2.505")
    assert projects["wrkspc_1"].names == {"project_name": "Research"}
    keys = {g.key["api_key"]: g for g in summary(harness, ["api_key"], platforms=["anthropic"]).groups}
    # cost_report has no API key grouping: the money is unattributed, the tokens are the key's.
    assert keys[""].cost_usd == bill and keys["apikey_1"].units["output_tokens"] == 1
    assert keys["apikey_1"].names == {"api_key_name": "notebook"}
    assert dg is not None


def test_records_stored_before_attribution_read_as_unattributed(harness: Any) -> None:
    """A record document without project_id/api_key_id (stored before) and a rollup built from
    it group under "", and a re-sync of the day replaces it instead of adding to it."""
    tenant = harness.connect("openai", CRED)
    day = harness.day(3)
    tenant.load_costs([{"date": day, "amount": "5", "line_item": "gpt-4o, input", "project_id": "proj_a"}])
    harness.records.records.insert_one(
        {
            "account_id": harness.account, "date": day.isoformat(), "platform": "openai", "model": "gpt-4o",
            "source": "api", "credential_id": CRED, "upload_id": "", "cost_usd": Decimal128("4"),
            "units": {}, "line_items": [], "provisional": False, "estimated": False, "warnings": [],
        }
    )  # fmt: skip
    old = summary(harness, ["project"])
    assert [(g.key["project"], g.cost_usd) for g in old.groups] == [("", Decimal("4"))]
    assert harness.sync(CRED)["status"] == "succeeded"
    now = summary(harness, ["project"])
    assert [(g.key["project"], g.cost_usd) for g in now.groups] == [("proj_a", Decimal("5"))]


@pytest.mark.parametrize("field", ["project", "api_key"])
def test_group_fields_include_attribution(field: str) -> None:
    assert field in GROUP_FIELDS
