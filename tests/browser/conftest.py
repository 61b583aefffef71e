"""Real-browser fixtures: Debian's Chromium driven by Playwright (no browser download), against
the session stack. Helpers (signed-in contexts, screenshots) are in support/browser.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from devstack.browser import CHROMIUM_ARGS
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from support.accounts import TestAccount, new_account
from support.browser import chromium_path, signed_in_context


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def context(browser: Browser, stack) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=stack.base_url)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture()
def account(stack) -> TestAccount:
    return new_account(stack)


@pytest.fixture()
def signed_in_page(browser: Browser, stack, account: TestAccount) -> Iterator[Page]:
    ctx = signed_in_context(browser, stack, account)
    yield ctx.new_page()
    ctx.close()
