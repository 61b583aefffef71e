"""The overview page in a real browser, against the whole stack with provider fakes: its figures
are the API's to the cent, its chart has a bar per day with spend, and an empty account is taught
how to begin."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from playwright.sync_api import Browser, expect
from support.browser import screenshot, signed_in_context
from support.spend_data import api, connect_with_data, day, usd


def test_overview_shows_the_apis_figures_and_a_bar_per_day(
    browser: Browser, stack: Any, http: Any, provider_fakes: Any, account: Any
) -> None:
    connect_with_data(stack, http, provider_fakes, account)
    mtd = api(http, stack, account, "/v1/usage/month-to-date")
    window = {"from": day(29), "to": day(0)}
    summary = api(http, stack, account, "/v1/usage/summary", group_by="day", **window)
    days_with_spend = sorted(g["day"] for g in summary["groups"] if Decimal(g["cost_usd"]) != 0)
    assert len(days_with_spend) >= 6

    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Month to date").locator(".value")).to_have_text(
        usd(mtd["current"]["cost_usd"])
    )
    expect(page.get_by_role("region", name="Same days last month").locator(".value")).to_have_text(
        usd(mtd["previous"]["cost_usd"])
    )
    # The month-end figure is the API's forecast, to the cent.
    forecast = api(http, stack, account, "/v1/usage/forecast")
    projection = page.get_by_role("region", name=re.compile("^Forecast for"))
    expect(projection.locator(".value")).to_have_text(usd(forecast["total"]["projected_usd"]))
    # The 30-day default: the range total is the summary's, to the cent; a bar per day with spend.
    expect(page.locator(".range-total .amount")).to_have_text(usd(summary["total_cost_usd"]))
    bars = page.locator("svg.chart-svg g.chart-day")
    expect(bars).to_have_count(len(days_with_spend))
    assert sorted(bars.evaluate_all("els => els.map(e => e.dataset.day)")) == days_with_spend
    chart = page.get_by_role("img", name=re.compile(r"^Daily spend by platform"))
    expect(chart).to_have_attribute("aria-label", re.compile(re.escape(usd(summary["total_cost_usd"]))))
    expect(page.locator(".chart-legend")).to_contain_text("OpenAI")
    expect(page.locator(".chart-legend")).to_contain_text("Anthropic")
    segment_titles = page.locator("svg.chart-svg rect title").all_text_contents()
    assert f"OpenAI, {day(25)}: $150.00" in segment_titles
    screenshot(page, "overview")
    # The same numbers as a table.
    page.get_by_text("Show as table").click()
    table = page.locator(".chart-table table")
    expect(table.locator("tbody tr")).to_have_count(len(days_with_spend))
    expect(table.locator("tfoot")).to_contain_text(usd(summary["total_cost_usd"]))
    # Top models and freshness, and a model name that is markup stays text.
    expect(page.locator(".top-models")).to_contain_text("claude-opus-5")
    expect(page.locator(".freshness li")).to_have_count(2)
    expect(page.locator(".freshness")).to_contain_text(re.compile(r"synced (just now|\d+ min ago)"))
    expect(page.locator(".freshness")).to_contain_text("provisional: last")

    # Another range: the chart and total follow, and the URL keeps it across a reload.
    week = api(http, stack, account, "/v1/usage/summary", **{"from": day(6), "to": day(0)})
    page.get_by_role("button", name="7 days").click()
    expect(page.locator(".range-total .amount")).to_have_text(usd(week["total_cost_usd"]))
    expect(page).to_have_url(re.compile(r"range=7d"))
    page.reload()
    expect(page.get_by_role("button", name="7 days")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".range-total .amount")).to_have_text(usd(week["total_cost_usd"]))
    # A custom range.
    custom = api(http, stack, account, "/v1/usage/summary", **{"from": day(30), "to": day(20)})
    page.get_by_role("button", name="Custom").click()
    page.get_by_label("From (UTC)").fill(day(30))
    page.get_by_label("To (UTC)").fill(day(20))
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".range-total .amount")).to_have_text(usd(custom["total_cost_usd"]))
    expect(page).to_have_url(re.compile(rf"range=custom&from={day(30)}&to={day(20)}"))
    assert page.evaluate("typeof window.__xss") == "undefined"
    context.close()

    small = signed_in_context(browser, stack, account, viewport={"width": 375, "height": 812})
    phone = small.new_page()
    phone.goto("/")
    expect(phone.locator("svg.chart-svg g.chart-day")).to_have_count(len(days_with_spend))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    viewbox = phone.locator("svg.chart-svg").get_attribute("viewBox")
    assert viewbox and 300 <= int(viewbox.split()[2]) <= 375, viewbox
    screenshot(phone, "overview-375")
    small.close()


def test_an_empty_account_is_taught_how_to_begin(browser: Browser, stack: Any, account: Any) -> None:
    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="See what your team spends on AI")).to_be_visible()
    expect(page.get_by_role("link", name="Connect your first key")).to_have_attribute("href", "/keys")
    expect(page.get_by_role("link", name="Upload a billing file")).to_have_attribute("href", "/uploads")
    expect(page.locator("svg.chart-svg")).to_have_count(0)
    page.get_by_role("link", name="Connect your first key").click()
    expect(page).to_have_url(re.compile(r"/keys$"))
    context.close()
