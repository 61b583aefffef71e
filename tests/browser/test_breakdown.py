"""The breakdown page in a real browser against the whole stack with provider fakes: by model it
lists exactly the API's models and costs, filters are removable chips kept in the URL, units are
in the providers' units, a model name that is markup stays text, and CSV export follows the plan."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect
from support.billing import upgrade
from support.browser import BREAKDOWN_ROWS, breakdown_rows, screenshot, signed_in_context
from support.spend_data import XSS_MODEL, api, connect_with_data, day, usd


def test_breakdown_by_model_filters_and_export(
    browser: Browser, stack: Any, http: Any, provider_fakes: Any, stripe_fake: Any, account: Any
) -> None:
    connect_with_data(stack, http, provider_fakes, account)
    window = {"from": day(29), "to": day(0)}
    by_model = api(http, stack, account, "/v1/usage/summary", group_by="model", **window)
    expected = {g["model"]: usd(g["cost_usd"]) for g in by_model["groups"]}
    assert XSS_MODEL in expected and len(expected) >= 5

    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/breakdown?group=model&range=30d")
    expect(page.get_by_role("heading", name="Breakdown", level=1)).to_be_visible()
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(len(expected))
    assert breakdown_rows(page) == expected  # every model, to the cent; the markup one as plain text
    expect(page.locator(".breakdown-table tfoot")).to_contain_text(usd(by_model["total_cost_usd"]))
    expect(page.locator(".breakdown-table img")).to_have_count(0)
    assert page.evaluate("typeof window.__xss") == "undefined"
    # Units in the provider's own units, split; recent days marked provisional in words.
    gpt = page.locator(BREAKDOWN_ROWS).filter(has_text="gpt-4o-2024-08-06")
    # OpenAI's 5M input tokens include the 1.2M cached ones: 3.8M uncached + 1.2M cached + 333.3K out.
    expect(gpt).to_contain_text("5.3M tokens")
    expect(gpt).to_contain_text("3.8M input · 1.2M cached · 333.3K output")
    expect(gpt).to_contain_text("42 requests")
    expect(gpt.locator(".badge", has_text="provisional")).to_be_visible()
    expect(page.get_by_text("recent days the provider may still revise")).to_be_visible()
    # Free plan: no export button, but what it is and where to get it.
    expect(page.get_by_role("button", name="Export CSV")).to_have_count(0)
    expect(page.get_by_text("CSV export of these records is a Professional feature")).to_be_visible()
    expect(page.get_by_role("link", name="Upgrade in Settings")).to_have_attribute("href", "/settings")
    screenshot(page, "breakdown")

    # Clicking a value adds a filter chip (kept in the URL); removing the chip removes the filter.
    o3 = api(http, stack, account, "/v1/usage/summary", group_by="model", model="o3", **window)
    page.get_by_role("button", name="Filter by model o3").click()
    expect(page).to_have_url(re.compile(r"[?&]model=o3(&|$)"))
    expect(page.get_by_role("listitem").filter(has_text="Model:")).to_contain_text("o3")
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(1)
    assert breakdown_rows(page) == {"o3": usd(o3["total_cost_usd"])}
    page.reload()
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(1)
    page.get_by_role("button", name="Remove filter Model: o3").click()
    expect(page.get_by_role("button", name="Remove filter Model: o3")).to_have_count(0)
    expect(page).not_to_have_url(re.compile(r"model="))
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(len(expected))
    page.go_back()  # back/forward walk the filters
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(1)
    page.go_forward()
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(len(expected))

    # A filter from the select, then grouping by key shows the keys' labels.
    anthropic = api(http, stack, account, "/v1/usage/summary", platform="anthropic", **window)
    page.get_by_label("Filter on", exact=True).select_option(label="Platform")
    expect(page.get_by_label("Value", exact=True)).to_be_enabled()
    page.get_by_label("Value", exact=True).select_option(label="Anthropic")
    page.get_by_role("button", name="Add filter").click()
    expect(page.get_by_role("button", name="Remove filter Platform: Anthropic")).to_be_visible()
    page.get_by_label("Group by").select_option(label="Key")
    expect(page).to_have_url(re.compile(r"group=key"))
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(1)
    assert breakdown_rows(page) == {"anthropic test key": usd(anthropic["total_cost_usd"])}

    # Grouping by the provider's project: OpenAI's project by its name (id in the tooltip), and
    # the money the provider does not attribute to a project in its own row; the rows add up.
    page.goto("/breakdown?group=project&range=30d")
    by_project = api(http, stack, account, "/v1/usage/summary", group_by="project", **window)
    names = {g["project"]: g["project_name"] for g in by_project["groups"]}
    assert names == {"p1": "Search", "": None}
    assert sum(Decimal(g["cost_usd"]) for g in by_project["groups"]) == Decimal(by_project["total_cost_usd"])
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(2)
    assert breakdown_rows(page) == {
        ("Search" if g["project"] else "Unattributed"): usd(g["cost_usd"]) for g in by_project["groups"]
    }
    search = page.get_by_role("button", name="Filter by project Search")
    expect(search).to_have_attribute("title", "Project id: p1")
    search.click()
    expect(page.get_by_role("button", name="Remove filter Project: Search")).to_be_visible()
    expect(page).to_have_url(re.compile(r"project=p1"))
    context.close()

    # Professional: the export downloads the filtered records as CSV, with the same total.
    upgrade(stack, stripe_fake, account)
    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/breakdown?group=platform&range=30d&platform=openai")
    expect(page.locator(BREAKDOWN_ROWS)).to_have_count(1)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(), newline="")))
    openai = api(http, stack, account, "/v1/usage/summary", platform="openai", **window)
    assert rows and {r["platform"] for r in rows} == {"openai"}
    assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal(openai["total_cost_usd"])
    context.close()

    small = signed_in_context(browser, stack, account, viewport={"width": 375, "height": 812})
    phone = small.new_page()
    phone.goto("/breakdown?group=model&range=30d")
    expect(phone.locator(BREAKDOWN_ROWS)).to_have_count(len(expected))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    screenshot(phone, "breakdown-375")
    small.close()
