"""Sign-up, the confirmation email and its page, sign-in; forgot password, the reset email and its
page: in a real browser against the whole stack, reading the mail from the stack's outbox."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from support import outbox
from support.accounts import strong_password, unique_email
from support.browser import screenshot

BRAND_BLUE = "rgb(11, 83, 148)"  # --brand in app.css: the stylesheet is applied under the page's CSP


def csp_violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def test_sign_up_confirm_the_email_in_the_browser_then_sign_in(page: Page, stack) -> None:
    violations = csp_violations(page)
    email, password = unique_email("signup"), strong_password()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/signup")
    expect(page.get_by_role("heading", name="Create your AICosts account")).to_be_visible()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password")  # on the common-passwords list
    page.get_by_role("button", name="Create account").click()

    # The weak password is refused at its field; the password is cleared, the rest kept.
    password_field = page.locator(".field", has=page.get_by_label("Password"))
    expect(password_field.locator(".field-error")).to_contain_text("too common")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Email")).to_have_value(email)
    screenshot(page, "signup")

    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/check-email\?email="))
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("main")).to_contain_text(email)
    expect(page.locator("main")).to_contain_text("expires after 24 hours")
    expect(page.locator("main")).to_contain_text("spam")

    # The link in the email opens the restyled, script-free confirmation page.
    (link,) = outbox.latest(stack, email, "confirm your email").links()
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    expect(page.locator(".topbar .brand")).to_have_text("AICosts")
    confirm = page.get_by_role("button", name="Confirm my email address")
    expect(confirm).to_have_css("background-color", BRAND_BLUE)
    screenshot(page, "verify-email")
    confirm.click()
    expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    expect(page.locator(".alert.ok")).to_contain_text("confirmed")

    page.get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    me = page.request.get("/v1/me").json()["account"]
    assert me["email"] == email and me["name"] == "Ada Lovelace" and me["email_verified"] is True

    # The used link explains itself, and offers the way on.
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("heading", name="Email not confirmed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Request ID:")
    assert violations == []


def test_forgot_password_answers_neutrally_and_the_emailed_link_sets_a_new_password(
    page: Page, stack, account
) -> None:
    violations = csp_violations(page)
    page.goto("/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password$"))
    page.get_by_label("Email").fill(account.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_contain_text(f"If an account uses {account.email}")
    mail = outbox.latest(stack, account.email, "reset")

    # An address without an account gets the very same answer (and no email).
    page.get_by_role("button", name="Use another address").click()
    nobody = unique_email("nobody")
    page.get_by_label("Email").fill(nobody)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_contain_text(f"If an account uses {nobody}")

    (link,) = mail.links()
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill("password")
    page.get_by_role("button", name="Set the new password").click()
    # Refused at the field; the form comes back with the link's token still in it.
    expect(page.locator("#new_password-error")).to_contain_text("too common")
    expect(page.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    new_password = strong_password()
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert violations == []
