"""The provider keys page in a real browser, against the session stack and its provider fakes:
connect an OpenAI admin key through the form and watch its backfill reach "Synced"; a key of the
wrong kind is refused at the API key field (the label is kept, the key is not); a key the provider
refuses shows the provider's message with what to do; sync now starts a run; delete asks first;
a label is always text."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect
from support.browser import screenshot, signed_in_context
from support.usage_api import add_credential, runs_of, wait_for_runs

XSS = "<img src=x onerror=window.__xss=1>"
SYNC_TIMEOUT_MS = 90_000


def key_card(page: Page, label: str):
    return page.locator("li.key-card").filter(
        has=page.get_by_role("heading", name=re.compile(re.escape(label)))
    )


def openai_tenant(provider_fakes):
    tenant = provider_fakes.openai.tenant()
    today = dt.datetime.now(dt.UTC).date()
    tenant.load_costs(
        [
            {"date": today - dt.timedelta(days=3), "amount": "4.20", "line_item": "gpt-4o, input"},
            {"date": today - dt.timedelta(days=1), "amount": "1.05", "line_item": "o3, output"},
        ]
    )
    return tenant


def test_connect_an_openai_key_through_the_form_then_sync_now(
    signed_in_page: Page, stack, account, http, provider_fakes
) -> None:
    page = signed_in_page
    console = []
    page.on("console", lambda message: console.append(message.text))
    tenant = openai_tenant(provider_fakes)
    page.goto("/keys")
    expect(page.get_by_role("heading", name="Connect your first provider")).to_be_visible()
    # The guide names the key, where it is made, and that it is only read.
    guide = page.locator("#key-guide")
    expect(guide).to_contain_text("Admin key")
    expect(guide.get_by_role("link", name=re.compile("platform.openai.com"))).to_have_attribute(
        "href", "https://platform.openai.com/settings/organization/admin-keys"
    )
    expect(guide).to_contain_text("Read-only use")
    key_input = page.get_by_label("API key")
    expect(key_input).to_have_attribute("type", "password")
    expect(key_input).to_have_attribute("autocomplete", "off")

    page.get_by_label("Platform", exact=True).select_option("openai")
    page.get_by_label("Label (optional)").fill("Production org")
    key_input.fill(tenant.api_key)
    page.get_by_role("button", name="Connect key").click()

    expect(page.get_by_role("status").filter(has_text="backfill started")).to_contain_text(
        "90-day backfill started"
    )
    expect(key_input).to_have_value("")
    expect(page.get_by_label("Label (optional)")).to_have_value("")
    card = key_card(page, "Production org")
    expect(card).to_contain_text(f"•••• {tenant.api_key[-4:]}")
    expect(card.locator(".badge")).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)
    expect(card).to_contain_text(re.compile(r"Synced (just now|\d+ min ago)"))

    credential = http.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30).json()[
        "items"
    ][0]
    assert credential["label"] == "Production org" and credential["last4"] == tenant.api_key[-4:]
    before = runs_of(http, stack, account, credential["id"])
    assert [r["reason"] for r in before] == ["backfill"]

    card.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status").filter(has_text="Sync of")).to_contain_text("started")
    runs = runs_of(http, stack, account, credential["id"])
    assert len(runs) == 2 and runs[0]["reason"] == "manual"
    expect(card.locator(".badge")).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)

    # Backfill: a small form of UTC days (once the manual sync is over: a sync under way that
    # covers the days asked for is answered instead of a new run).
    wait_for_runs(http, stack, account, credential["id"])
    card.get_by_role("button", name="Backfill…").click()
    backfill = card.get_by_role("form")
    from_day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=5)).isoformat()
    backfill.get_by_label("From (UTC day)").fill(from_day)
    backfill.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("status").filter(has_text="Backfill of")).to_contain_text(
        f"Backfill of {from_day}"
    )
    expect(card.locator(".badge")).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)
    screenshot(page, "keys")
    assert not [m for m in console if "Content Security Policy" in m], console


def test_a_key_of_the_wrong_kind_is_refused_at_the_field_and_only_the_label_is_kept(
    signed_in_page: Page, stack, account, http
) -> None:
    page = signed_in_page
    page.goto("/keys")
    page.get_by_label("Label (optional)").fill("Project key by mistake")
    page.get_by_label("API key").fill("sk-proj-not-an-admin-key-123456")
    page.get_by_role("button", name="Connect key").click()

    key_input = page.get_by_label("API key")
    expect(key_input).to_have_attribute("aria-invalid", "true")
    field_error = page.locator(".field").filter(has=key_input).locator(".field-error")
    expect(field_error).to_contain_text("sk-admin-")
    expect(key_input).to_have_value("")
    expect(page.get_by_label("Label (optional)")).to_have_value("Project key by mistake")
    response = http.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30)
    assert response.json()["items"] == []


def test_a_key_the_provider_refuses_shows_its_message_and_the_fix(browser, stack, account, http) -> None:
    # A well-formed admin key that no (fake) OpenAI organization knows: the backfill is refused.
    context = signed_in_context(browser, stack, account, viewport={"width": 375, "height": 812})
    try:
        page = context.new_page()
        page.goto("/keys")
        page.get_by_label("Label (optional)").fill("Revoked key")
        page.get_by_label("API key").fill("sk-admin-revoked-0000000000000000")
        page.get_by_role("button", name="Connect key").click()
        card = key_card(page, "Revoked key")
        expect(card.locator(".badge")).to_have_text("Key refused", timeout=SYNC_TIMEOUT_MS)
        expect(card.locator(".key-problem")).to_contain_text("Last error:")
        expect(card.locator(".key-problem")).to_contain_text("What to do:")
        credential = http.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30).json()
        message = credential["items"][0]["status_message"]
        assert message and credential["items"][0]["status"] == "invalid"
        expect(card.locator(".key-problem-what")).to_contain_text(message)
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "keys-375")
    finally:
        context.close()


def test_delete_asks_for_confirmation_and_a_label_stays_text(
    signed_in_page: Page, stack, account, http, provider_fakes
) -> None:
    page = signed_in_page
    tenant = provider_fakes.openai.tenant()
    response = http.post(
        f"{stack.base_url}/v1/credentials",
        json={"platform": "openai", "api_key": tenant.api_key, "label": XSS},
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    other = add_credential(http, stack, account, "openai", provider_fakes.openai.tenant().api_key)
    page.goto("/keys")
    card = key_card(page, XSS)
    expect(card.get_by_role("heading")).to_contain_text(XSS)  # shown as text, not markup
    assert page.evaluate("window.__xss") is None
    assert page.locator("li.key-card img").count() == 0

    card.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete the OpenAI key")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(card).to_have_count(1)

    card.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete key").click()
    expect(card).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="was deleted")).to_be_visible()
    left = http.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30).json()["items"]
    assert [c["id"] for c in left] == [other["id"]]
    expect(page.locator("li.key-card")).to_have_count(1)
    assert page.evaluate("window.__xss") is None


def test_connect_aws_through_one_input_per_field(
    signed_in_page: Page, stack, account, http, provider_fakes
) -> None:
    # GET /v1/platforms lists AWS Bedrock's fields: the form shows one labelled input per field,
    # the secret one as a password input that is emptied after the submit.
    from decimal import Decimal

    from testkit.fakes import CostRow

    page = signed_in_page
    aws = provider_fakes.aws_bedrock.tenant()
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    aws.load(
        [
            CostRow(
                yesterday,
                "USE1-Claude3Haiku-input-tokens",
                Decimal("3.21"),
                Decimal("1000"),
                "Claude 3 Haiku",
            )
        ]
    )
    page.goto("/keys")
    page.get_by_label("Platform", exact=True).select_option("aws_bedrock")
    expect(page.locator("#key-guide")).to_contain_text("ce:GetCostAndUsage")
    expect(page.get_by_label("API key")).to_have_count(0)
    key_id = page.get_by_label("Access key ID")
    secret = page.get_by_label("Secret access key")
    expect(key_id).to_have_attribute("type", "text")
    expect(secret).to_have_attribute("type", "password")

    # A secret of the wrong shape is refused at its own field, and emptied.
    key_id.fill(aws.api_key)
    secret.fill("too-short")
    page.get_by_role("button", name="Connect key").click()
    expect(secret).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field").filter(has=secret).locator(".field-error")).to_contain_text("40 characters")
    expect(secret).to_have_value("")

    page.get_by_label("Label (optional)").fill("AWS payer account")
    secret.fill(aws.secret)
    page.get_by_role("button", name="Connect key").click()
    expect(page.get_by_role("status").filter(has_text="backfill started")).to_contain_text("backfill started")
    expect(page.get_by_label("Secret access key")).to_have_value("")
    card = key_card(page, "AWS payer account")
    expect(card).to_contain_text(f"•••• {aws.api_key[-4:]}")
    expect(card.locator(".badge")).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)
    assert aws.secret not in page.content()
    (credential,) = http.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30).json()[
        "items"
    ]
    assert credential["platform"] == "aws_bedrock" and credential["last4"] == aws.api_key[-4:]
