"""Browser-test helpers: Debian's Chromium for Playwright, signed-in browser contexts, and
screenshots of the pages under var/screenshots/ (the README shows them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from devstack import browser as devstack_browser
from playwright.sync_api import Browser, BrowserContext, Page

from support.accounts import TestAccount

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"


def chromium_path() -> str:
    path = devstack_browser.chromium_path()
    if path is None:
        pytest.fail(
            "Chromium is not installed: run `make browser` (apt-get install chromium) or set CHROMIUM"
        )
    return path


def web_session(stack, account: TestAccount) -> requests.Session:
    """A requests session signed in through /web/session: it holds the browser's cookies."""
    client = requests.Session()
    response = client.post(
        f"{stack.base_url}/web/session",
        json={"email": account.email, "password": account.password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return client


def signed_in_context(browser: Browser, stack, account: TestAccount, **options) -> BrowserContext:
    """A browser context already holding a signed-in session's cookies for `account`."""
    client = web_session(stack, account)
    context = browser.new_context(base_url=stack.base_url, **options)
    context.add_cookies([{"name": c.name, "value": c.value, "url": stack.base_url} for c in client.cookies])
    return context


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill in and send the sign-in form (a 2FA step may follow)."""
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


BREAKDOWN_ROWS = ".breakdown-table tbody tr"


def breakdown_rows(page: Page) -> dict[str, str]:
    """{group value as shown: cost as shown} for every row of the breakdown table."""
    pairs = page.locator(BREAKDOWN_ROWS).evaluate_all(
        "rows => rows.map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
    )
    return dict(pairs)
