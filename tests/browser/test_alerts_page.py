"""The Alerts page in a real browser against the whole stack: on Professional, a budget made
through the form is listed with its status and can be edited; a webhook pointing at a local
receiver shows its signing secret once, a test delivery arrives signed with it and the page says
"delivered" with HTTP 200; a sync that crosses a threshold puts an alert in the history, which is
acknowledged from the page. On Free, a second budget, destinations and anomaly detection explain
the plan. No page breaks the Content-Security-Policy."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from support import billing
from support.browser import screenshot, signed_in_context
from support.spend_data import usd
from support.usage_api import add_credential, wait_for_runs

TODAY = dt.datetime.now(dt.UTC).date()
SPEND_TODAY = "62.10"  # OpenAI's bill for today: 62.1% of a $100.00 budget, past its 50% threshold


class Receiver:
    """A local webhook endpoint: answers 200 and keeps each request's headers and raw body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/aicosts"


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def csp_watch(page: Page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in headers["aicosts-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def budget_card(page: Page, name: str):
    return page.locator("li.budget-card").filter(has=page.get_by_role("heading", name=name, exact=True))


def fill_budget_form(page: Page, name: str, amount: str) -> None:
    form = page.locator("form.budget-form")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Amount (USD)").fill(amount)
    form.get_by_label("Scope").select_option("platform")
    form.get_by_label("Platform", exact=True).select_option("openai")
    expect(form.get_by_label("Thresholds (% of the amount)")).to_have_value("50, 80, 100")


@pytest.fixture()
def professional(stack, stripe_fake, account):
    billing.upgrade(stack, stripe_fake, account)
    assert billing.plan_of(stack, account) == "professional"
    return account


def test_budgets_destinations_and_alert_history_on_professional(
    browser: Browser, stack, http, provider_fakes, professional
) -> None:
    account = professional
    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations = csp_watch(page)
    page.goto("/alerts")
    expect(page.get_by_role("heading", name="Alerts", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts")).to_have_attribute(
        "aria-current", "page"
    )

    # A budget through the form: a field error first (no amount), then created and listed.
    page.get_by_role("button", name="New budget").click()
    fill_budget_form(page, "OpenAI monthly", "")
    page.get_by_role("button", name="Create budget").click()
    expect(page.locator("form.budget-form .field-error")).to_be_visible()
    page.locator("form.budget-form").get_by_label("Amount (USD)").fill("100.00")
    page.get_by_role("button", name="Create budget").click()
    card = budget_card(page, "OpenAI monthly")
    expect(card).to_contain_text("$0.00 of $100.00")
    expect(card.locator(".badge").first).to_have_text("OpenAI")
    expect(card).to_contain_text("Monthly")
    expect(page.locator("form.budget-form")).to_have_count(0)

    # Spend arrives: an OpenAI key whose bill for today is $62.10 is connected and synced.
    tenant = provider_fakes.openai.tenant()
    tenant.load_costs([{"date": TODAY, "amount": SPEND_TODAY, "line_item": "gpt-4o, input"}])
    credential = add_credential(http, stack, account, "openai", tenant.api_key)
    wait_for_runs(http, stack, account, credential["id"])
    page.reload()
    card = budget_card(page, "OpenAI monthly")
    expect(card).to_contain_text("$62.10 of $100.00 (62.1%)")
    expect(card.locator(".budget-crossed")).to_contain_text("50%")
    expect(card.locator(".budget-projected")).to_contain_text(re.compile(r"Projected \$[\d,]+\.\d\d"))

    # Edit: the form opens filled in; the new amount shows on the card.
    card.get_by_role("button", name="Edit").click()
    form = page.locator("form.budget-form")
    expect(form.get_by_label("Name", exact=True)).to_have_value("OpenAI monthly")
    form.get_by_label("Amount (USD)").fill("200.00")
    page.get_by_role("button", name="Save budget").click()
    expect(budget_card(page, "OpenAI monthly")).to_contain_text("$62.10 of $200.00 (")
    (budget,) = http.get(f"{stack.base_url}/v1/budgets", headers=account.headers, timeout=30).json()["items"]
    assert budget["amount_usd"] == "200.00" and budget["scope"] == {"kind": "platform", "platform": "openai"}
    expect(budget_card(page, "OpenAI monthly")).to_contain_text(f"({budget['status']['percent_used']}%)")

    # The sync crossed 50%: the alert is in the history; acknowledging it quiets it.
    fired = http.get(f"{stack.base_url}/v1/alerts", headers=account.headers, timeout=30).json()["items"]
    (crossed,) = [a for a in fired if a["kind"] == "budget_threshold"]
    assert crossed["threshold"] == 50
    history = page.locator("#history")
    alert = history.locator("li.alert-item").filter(has=page.get_by_role("heading", name=crossed["title"]))
    expect(alert).to_contain_text(crossed["message"])
    expect(alert).not_to_have_class(re.compile("acknowledged"))
    screenshot(page, "alerts")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert).to_have_class(re.compile("acknowledged"))
    expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(0)
    page.get_by_label("Unacknowledged only").check()
    expect(history.locator("li.alert-item")).to_have_count(len(fired) - 1)
    expect(alert).to_have_count(0)

    # A webhook to a local receiver: the secret once, a signed test delivery, the log.
    with webhook_receiver() as receiver:
        section = page.locator("#destinations")
        section.get_by_label("Name", exact=True).fill("Ops hook")
        section.get_by_label("URL").fill(receiver.url)
        section.get_by_role("button", name="Add destination").click()
        expect(section).to_contain_text("not shown again")
        secret = section.locator("#signing-secret").text_content() or ""
        assert secret.startswith("whsec_")
        expect(section).to_contain_text("AICosts-Signature")
        hook = section.locator("li.destination-card").filter(has_text="Ops hook")
        expect(hook).to_contain_text("127.0.0.1")
        hook.get_by_role("button", name="Send test").click()
        expect(hook.locator(".destination-result")).to_contain_text("delivered (HTTP 200)")
        assert len(receiver.received) == 1
        headers, body = receiver.received[0]
        assert signature_ok(secret, headers, body)
        json.loads(body)
        hook.get_by_text("Delivery log").click()
        expect(hook.locator(".delivery-list")).to_contain_text("HTTP 200")
        screenshot(page, "alerts-destination")
        # Drawn again from the API, the secret is gone for good.
        page.reload()
        expect(page.locator("#destinations li.destination-card")).to_have_count(1)
        expect(page.locator("#destinations")).not_to_contain_text(secret)

    # The budget form offers the destination; anomaly settings save.
    anomalies = page.locator("#anomalies")
    anomalies.get_by_label("Sensitivity").select_option("high")
    anomalies.get_by_role("checkbox", name=re.compile("Ops hook")).check()
    anomalies.get_by_role("button", name="Save anomaly settings").click()
    expect(page.locator(".toast")).to_have_text("Anomaly settings saved.")
    settings = http.get(f"{stack.base_url}/v1/alert-settings", headers=account.headers, timeout=30).json()
    assert settings["settings"]["sensitivity"] == "high" and len(settings["settings"]["destination_ids"]) == 1

    # Delete asks first.
    budget_card(page, "OpenAI monthly").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete budget").click()
    expect(page.locator("li.budget-card")).to_have_count(0)
    assert violations == []
    context.close()


def test_free_plan_explains_what_needs_professional(browser: Browser, stack, account) -> None:
    first = requests.post(
        f"{stack.base_url}/v1/budgets",
        json={"name": "Everything", "amount_usd": "50.00", "period": "monthly", "scope": {"kind": "account"}},
        headers=account.headers,
        timeout=30,
    )
    assert first.status_code == 201, first.text
    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations = csp_watch(page)
    page.goto("/alerts")
    expect(budget_card(page, "Everything")).to_contain_text("$0.00 of $50.00")
    page.get_by_role("button", name="New budget").click()
    form = page.locator("form.budget-form")
    form.get_by_label("Name", exact=True).fill("A second one")
    form.get_by_label("Amount (USD)").fill("10")
    page.get_by_role("button", name="Create budget").click()
    note = form.locator(".plan-detail")
    expect(note).not_to_be_empty()
    expect(form.get_by_role("link", name="See plans in Settings")).to_have_attribute("href", "/settings#plan")
    expect(page.locator("li.budget-card")).to_have_count(1)

    expect(page.locator("#destinations")).to_contain_text("part of the Professional plan")
    page.locator("#destinations").get_by_label("Name", exact=True).fill("Hook")
    page.locator("#destinations").get_by_label("URL").fill("https://hooks.example.com/x")
    page.get_by_role("button", name="Add destination").click()
    expect(page.locator("#destinations .plan-detail")).not_to_be_empty()
    expect(page.locator("#anomalies")).to_contain_text("Anomaly detection is part of the Professional plan")
    screenshot(page, "alerts-free")
    assert violations == []
    context.close()


def test_overview_shows_the_forecast_and_the_budget_strip(
    browser: Browser, stack, http, provider_fakes, account
) -> None:
    tenant = provider_fakes.openai.tenant()
    tenant.load_costs([{"date": TODAY, "amount": SPEND_TODAY, "line_item": "gpt-4o, input"}])
    credential = add_credential(http, stack, account, "openai", tenant.api_key)
    wait_for_runs(http, stack, account, credential["id"])
    created = http.post(
        f"{stack.base_url}/v1/budgets",
        json={"name": "All AI", "amount_usd": "100.00", "period": "monthly", "scope": {"kind": "account"}},
        headers=account.headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    forecast = http.get(f"{stack.base_url}/v1/usage/forecast", headers=account.headers, timeout=30).json()
    context = signed_in_context(browser, stack, account, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/")
    month = dt.date.fromisoformat(forecast["period_start"]).strftime("%B %Y")
    card = page.get_by_role("region", name=f"Forecast for {month}")
    expect(card.locator(".value")).to_have_text(usd(forecast["total"]["projected_usd"]))
    expect(card).to_contain_text(
        f"Likely between {usd(forecast['total']['low_usd'])} and {usd(forecast['total']['high_usd'])}"
    )
    strip = page.get_by_role("region", name="Budgets")
    link = strip.get_by_role("link", name=re.compile(r"All AI\s*62\.1%"))
    expect(link).to_have_attribute("href", "/alerts")
    screenshot(page, "overview-forecast")
    # Without the forecast (the call fails), the straight line, saying what it is.
    page.route("**/v1/usage/forecast*", lambda route: route.fulfill(status=503, json={"detail": "down"}))
    page.reload()
    fallback = page.get_by_role("region", name="Projected month-end")
    expect(fallback).to_contain_text("Straight-line projection")
    expect(fallback).to_contain_text("the forecast could not be loaded")
    context.close()
