"""Signing in and out through the pages, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_sign_in_with_the_form_then_sign_out(page: Page, account) -> None:
    page.goto("/breakdown")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fbreakdown$"))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/breakdown$"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin$"))


def test_a_wrong_password_is_shown_at_the_form_and_the_email_is_kept(page: Page, account) -> None:
    page.goto("/signin")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("not-the-password-at-all")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Request ID:")
    expect(page.get_by_label("Email")).to_have_value(account.email)
    expect(page.get_by_label("Password")).to_have_value("")
