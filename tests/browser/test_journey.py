"""A new user's whole first session, in a real browser against the whole stack, the way the
issue describes it: sign up, confirm the email from the outbox, sign in, turn on 2FA from the
secret on the page, sign in again with a code, connect OpenAI and Anthropic (the provider
fakes), see the fakes' bill to the cent, break it down by model, import a billing file, find
all of it in the audit log, sign out, and find nothing private behind the back button."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from support import outbox
from support.accounts import fresh_step, strong_password, totp_code, unique_email
from support.browser import breakdown_rows, screenshot, sign_in
from support.spend_data import TODAY, bill_total, load_bills, usd

SYNC_TIMEOUT_MS = 90_000
FILE_MODEL = "gpt-4.1-from-a-file"
FILE_AMOUNT = Decimal("7.25")


def billing_file(days_ago: int) -> bytes:
    """An OpenAI cost export (the console's CSV) with one line on a recent day."""
    start = dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(), dt.UTC)
    end = start + dt.timedelta(days=1)
    header = (
        "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,quantity,"
        "quantity_unit,line_item,user_id,api_key_id,project_id,organization_id,project_name,"
        "organization_name,user_email,api_source"
    )
    row = (
        f"{int(start.timestamp())},{int(end.timestamp())},{start.isoformat()},{end.isoformat()},"
        f'{FILE_AMOUNT},usd,1000.0,tokens,"{FILE_MODEL}, input",,key_abc,proj_1,org_1,Default project,Acme,,'
    )
    return f"{header}\n{row}\n".encode()


def connect(page: Page, platform: str, label: str, api_key: str) -> None:
    page.get_by_label("Platform", exact=True).select_option(platform)
    page.get_by_label("Label (optional)").fill(label)
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Connect key").click()
    card = page.locator("li.key-card").filter(has=page.get_by_role("heading", name=re.compile(label)))
    expect(card.locator(".badge")).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)


@pytest.mark.slow
def test_a_new_users_first_session(browser: Browser, stack, provider_fakes) -> None:
    email, password = unique_email("journey"), strong_password()
    openai, anthropic = load_bills(provider_fakes)
    context = browser.new_context(base_url=stack.base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        # Sign up, and confirm the address with the link from the email.
        page.goto("/signup")
        page.get_by_label("Your name").fill("Journey Tester")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        (link,) = outbox.latest(stack, email, "confirm your email").links()
        page.goto(link)
        page.get_by_role("button", name="Confirm my email address").click()
        expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()

        # Sign in; a new account is taught how to begin.
        sign_in(page, email, password)
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("key", re.I)).first).to_be_visible()

        # Two-factor sign-in, from the secret shown on the page.
        page.goto("/settings#two-factor")
        section = page.locator("section#two-factor")
        section.get_by_role("button", name="Set up two-factor sign-in").click()
        section.get_by_label("Current password").fill(password)
        section.get_by_role("button", name="Continue").click()
        secret = section.locator("#totp-secret").inner_text().replace(" ", "")
        step = fresh_step()
        section.get_by_label("Code from the app").fill(totp_code(secret, step - 1))
        section.get_by_label("Current password").fill(password)
        section.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(section.get_by_role("list", name="Your backup codes").get_by_role("listitem")).to_have_count(
            10
        )
        section.get_by_role("button", name="I have saved them").click()

        # Sign out and in again, with the authenticator's code.
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page).to_have_url(re.compile(r"/signin"))
        sign_in(page, email, password)
        page.get_by_label("Code").fill(totp_code(secret, step))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()

        # Connect both providers through the keys page; each backfill finishes.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
        connect(page, "openai", "OpenAI org", openai.api_key)
        connect(page, "anthropic", "Anthropic org", anthropic.api_key)
        screenshot(page, "journey-keys")

        # The overview's 30 days equal the fakes' bill to the cent.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
        expect(page.locator(".range-total .amount")).to_have_text(usd(bill_total(30)))

        # The breakdown by model is the API's, row by row.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Breakdown").click()
        by_model = page.request.get(
            "/v1/usage/summary",
            params={
                "group_by": "model",
                "from": (TODAY - dt.timedelta(days=29)).isoformat(),
                "to": TODAY.isoformat(),
            },
        ).json()
        expected = {g["model"]: usd(g["cost_usd"]) for g in by_model["groups"]}
        expect(page.locator(".breakdown-table tbody tr")).to_have_count(len(expected))
        assert breakdown_rows(page) == expected
        assert Decimal(by_model["total_cost_usd"]) == bill_total(30)

        # Upload a billing file, check the preview, import it: it is in the overview's total.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Uploads").click()
        page.get_by_label("Billing file").set_input_files(
            files=[{"name": "openai-costs.csv", "mimeType": "text/csv", "buffer": billing_file(2)}]
        )
        preview = page.locator("#preview")
        expect(page.locator("#preview-total")).to_have_text(usd(FILE_AMOUNT))
        expect(preview).to_contain_text(FILE_MODEL)
        preview.get_by_role("button", name="Import 1 records").or_(
            preview.get_by_role("button", name="Import 1 record")
        ).click()
        expect(page.get_by_role("status").filter(has_text="Imported")).to_contain_text("openai-costs.csv")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
        expect(page.locator(".range-total .amount")).to_have_text(usd(bill_total(30) + FILE_AMOUNT))

        # The audit log holds each of these actions.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
        rows = page.locator("table.audit-table tbody tr")
        expect(rows.first).to_be_visible()
        for action in (
            "account.signup",
            "mfa.enabled",
            "session.login",
            "credential.create",
            "upload.created",
            "upload.imported",
        ):
            expect(rows.filter(has_text=action).first).to_be_visible()
        screenshot(page, "journey-audit")

        # Sign out: the back button shows nothing of the account.
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page).to_have_url(re.compile(r"/signin"))
        # Back to the page before (the overview): it is fetched again, and sends the signed-out
        # visitor to sign in instead of showing anything kept from before.
        assert page.go_back() is not None
        expect(page).to_have_url(re.compile(r"/signin"))
        expect(page.get_by_role("heading", name="Sign in to AICosts")).to_be_visible()
        body = page.locator("body").inner_text()
        assert email not in body and "$" not in body
        assert page.request.get("/v1/me").status == 401
        assert requests.get(f"{stack.base_url}/v1/me", timeout=10).status_code == 401
        assert csp_errors == []
    finally:
        context.close()
