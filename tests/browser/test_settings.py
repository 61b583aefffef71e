"""Settings in a real browser against the whole stack: two-factor sign-in from setup to signing in
with a code and with a backup code, changing the password, the plan and Stripe Checkout, and the
sessions list."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import requests
from playwright.sync_api import Route, expect
from support import outbox
from support.accounts import TestAccount, fresh_step, login, signup, strong_password, totp_code, unique_email
from support.browser import screenshot, sign_in, signed_in_context

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def test_two_factor_setup_backup_codes_and_signing_in_with_a_code_and_a_backup_code(
    browser, stack, account, tmp_path: Path
) -> None:
    context = signed_in_context(browser, stack, account, viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto("/settings#two-factor")
        section = page.locator("section#two-factor")
        expect(section.get_by_text("Two-factor sign-in is off")).to_be_visible()
        section.get_by_role("button", name="Set up two-factor sign-in").click()
        section.get_by_label("Current password").fill("not-my-password-at-all")
        section.get_by_role("button", name="Continue").click()
        expect(section.locator(".field-error")).to_be_visible()  # a wrong password, at its field
        expect(section.get_by_label("Current password")).to_have_value("")
        section.get_by_label("Current password").fill(account.password)
        section.get_by_role("button", name="Continue").click()

        qr = section.get_by_role("img", name="QR code for adding AICosts to an authenticator app")
        expect(qr).to_be_visible()
        assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
        loaded = "img => img.decode().then(() => img.naturalWidth, () => 0)"
        assert qr.evaluate(loaded) > 0  # the data: image is allowed by the CSP and decodes
        shown = section.locator("#totp-secret").inner_text()
        assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", shown), shown  # grouped in fours
        secret = shown.replace(" ", "")

        step = fresh_step()
        section.get_by_label("Code from the app").fill(totp_code(secret, step - 1))
        section.get_by_label("Current password").fill(account.password)
        section.get_by_role("button", name="Turn on two-factor sign-in").click()

        codes_list = section.get_by_role("list", name="Your backup codes")
        expect(codes_list.get_by_role("listitem")).to_have_count(10)
        codes = [c.strip() for c in codes_list.get_by_role("listitem").all_inner_texts()]
        with page.expect_download() as download:
            section.get_by_role("button", name="Download as .txt").click()
        assert download.value.suggested_filename == "aicosts-backup-codes.txt"
        saved = Path(download.value.path()).read_text()
        assert all(code in saved for code in codes) and account.email in saved
        section.get_by_role("button", name="I have saved them").click()
        expect(section.get_by_text("On", exact=True)).to_be_visible()
        expect(section.get_by_text("Replace the backup codes")).to_be_visible()
        assert page.request.get("/v1/me").json()["account"]["totp_enabled"] is True
        # Other sessions ended with the change: the fixture's own API session no longer works.
        assert requests.get(f"{stack.base_url}/v1/me", headers=account.headers, timeout=10).status_code == 401

        # Sign out, and in again through the 2FA step with the authenticator's next code...
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page).to_have_url(re.compile(r"/signin"))
        sign_in(page, account.email, account.password)
        expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
        page.get_by_label("Code").fill(totp_code(secret, step))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()

        # ... and once with a backup code.
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page).to_have_url(re.compile(r"/signin"))
        sign_in(page, account.email, account.password)
        page.get_by_role("button", name="Use a backup code instead").click()
        page.get_by_label("Code").fill(codes[0])
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    finally:
        context.close()


def test_profile_renames_and_an_unconfirmed_address_can_get_the_email_again(browser, stack) -> None:
    email, password = unique_email("unconfirmed"), strong_password()
    signup(stack, email, password)
    context = signed_in_context(browser, stack, TestAccount("", "", email, password), viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto("/settings")
        section = page.locator("section#profile")
        expect(section.get_by_text("Not confirmed")).to_be_visible()
        section.get_by_role("button", name="Resend verification email").click()
        sent = section.get_by_role("status")
        expect(sent).to_contain_text(f"A new confirmation link is on its way to {email}")
        outbox.wait_for(stack, email, "confirm your email", count=2)

        section.get_by_label("Name").fill("Grace Hopper")
        section.get_by_role("button", name="Save name").click()
        expect(page.locator(".toast")).to_have_text("Name saved.")
        assert page.request.get("/v1/me").json()["account"]["name"] == "Grace Hopper"
        section.get_by_label("Name").fill("")
        section.get_by_role("button", name="Save name").click()
        expect(section.locator(".field-error, .form-error").first).to_be_visible()
    finally:
        context.close()


def test_change_password_shows_a_wrong_current_password_at_its_field(browser, stack, account) -> None:
    context = signed_in_context(browser, stack, account, viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto("/settings#password")
        section = page.locator("section#password")
        section.get_by_label("Current password").fill("not-the-current-one")
        new_password = strong_password()
        section.get_by_label("New password").fill(new_password)
        section.get_by_role("button", name="Change password").click()
        current = section.locator(".field", has=page.get_by_label("Current password"))
        expect(current.locator(".field-error")).to_be_visible()
        expect(section.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
        expect(section.get_by_label("Current password")).to_have_value("")
        expect(section.get_by_label("New password")).to_have_value("")

        section.get_by_label("Current password").fill(account.password)
        section.get_by_label("New password").fill(new_password)
        section.get_by_role("button", name="Change password").click()
        expect(section.get_by_role("status")).to_contain_text("Your password is changed")
        assert "access_token" in login(stack, account.email, new_password)
        # This browser's session stays signed in.
        page.reload()
        expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    finally:
        context.close()


def test_plan_section_shows_the_current_plan_and_checkout_reaches_stripe(browser, stack, account) -> None:
    context = signed_in_context(browser, stack, account, viewport=DESKTOP)
    page = context.new_page()
    # The browser cannot reach stripe.com from here: answer for it, and record where it was sent.
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout</h1>"),
    )
    try:
        listed = requests.get(f"{stack.base_url}/v1/billing/plans", timeout=10).json()["items"]
        plans = {p["id"]: p for p in listed}
        page.goto("/settings#plan")
        section = page.locator("section#plan")
        expect(section).to_contain_text("You are on the Free plan.")
        free = section.get_by_role("region", name=re.compile("^Free"))
        expect(free.get_by_text("Current plan")).to_be_visible()
        pro = section.get_by_role("region", name=re.compile("^Professional"))
        price = Decimal(plans["professional"]["price_usd_month"])
        expect(pro).to_contain_text(f"${price:,.2f} per month")
        for feature in plans["professional"]["features"]:
            expect(pro).to_contain_text(feature)

        pro.get_by_role("button", name="Upgrade to Professional").click()
        expect(page).to_have_url(re.compile(r"^https://checkout\.stripe\.com/c/pay/cs_test_"))
        expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    finally:
        context.close()


def test_plan_section_explains_a_server_without_payments(browser, stack, account) -> None:
    """The answer auth gives when no Stripe keys are set (the session stack has a Stripe fake, so
    that answer is played back here): an explanation a self-hoster can act on, not a raw error."""
    context = signed_in_context(browser, stack, account, viewport=DESKTOP)
    page = context.new_page()

    def not_configured(route: Route) -> None:
        route.fulfill(
            status=422,
            content_type="application/problem+json",
            body='{"status": 422, "title": "Unprocessable Entity", '
            '"detail": "payments are not configured on this installation", "request_id": "req-1"}',
        )

    page.route("**/v1/billing/checkout", not_configured)
    try:
        page.goto("/settings#plan")
        page.get_by_role("button", name="Upgrade to Professional").click()
        explanation = page.locator("section#plan").get_by_role("status").filter(has_text="not configured")
        expect(explanation).to_contain_text("Payments are not configured on this server")
        expect(explanation).to_contain_text("STRIPE_SECRET_KEY")
        expect(explanation).to_contain_text("docs/operations.md")
    finally:
        context.close()


def test_sessions_list_marks_this_one_and_signs_out_the_others(browser, stack, account) -> None:
    # Two sessions: the fixture's API sign-in and this browser's.
    context = signed_in_context(browser, stack, account, viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto("/settings#sessions")
        section = page.locator("section#sessions")
        items = section.get_by_role("list", name="Sessions").get_by_role("listitem")
        expect(items.first).to_be_visible()
        assert items.count() >= 2
        expect(items.filter(has_text="This session")).to_have_count(1)
        section.get_by_role("button", name="Sign out other sessions").click()
        expect(section.get_by_role("status").filter(has_text="signed out")).to_contain_text("other session")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("This session")
        assert requests.get(f"{stack.base_url}/v1/me", headers=account.headers, timeout=10).status_code == 401
    finally:
        context.close()


def test_sign_out_everywhere_ends_every_session_and_returns_to_sign_in(browser, stack, account) -> None:
    context = signed_in_context(browser, stack, account, viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto("/settings#sessions")
        page.get_by_role("button", name="Sign out everywhere").click()
        dialog = page.get_by_role("dialog", name="Sign out everywhere?")
        dialog.get_by_role("button", name="Sign out everywhere").click()
        expect(page).to_have_url(re.compile(r"/signin\?reason=signed-out$"))
        expect(page.get_by_text("You have been signed out.")).to_be_visible()
        assert requests.get(f"{stack.base_url}/v1/me", headers=account.headers, timeout=10).status_code == 401
        page.goto("/settings")
        expect(page).to_have_url(re.compile(r"/signin\?next=%2Fsettings$"))
    finally:
        context.close()


def test_settings_screenshots(browser, stack, account) -> None:
    for name, viewport in (("settings", DESKTOP), ("settings-375", PHONE)):
        context = signed_in_context(browser, stack, account, viewport=viewport)
        page = context.new_page()
        try:
            page.goto("/settings")
            expect(page.locator("section#plan .account-plan").first).to_be_visible()
            expect(page.locator("section#sessions li").first).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name}: {overflow}px wider than the window"
            screenshot(page, name)
        finally:
            context.close()
