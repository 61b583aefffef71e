"""Usable without a mouse and on a phone: every page's controls are labelled, the skip link and
main navigation work from the keyboard, and nothing overflows a 375 px wide screen."""

from __future__ import annotations

import pytest
from gateway.web.shell import APP_PATHS
from playwright.sync_api import Browser, Page, expect
from support.browser import signed_in_context

SIGNED_IN_PATHS = ["/", "/breakdown", "/keys", "/uploads", "/audit", "/alerts", "/settings"]
SIGNED_OUT_PATHS = [p for p in APP_PATHS if p not in SIGNED_IN_PATHS] + ["/verify-email", "/reset-password"]

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby')
                  && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""


def _settle(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.locator("h1").first).to_be_visible()
    page.wait_for_load_state("load")


def _check_page(page: Page, path: str, width: int) -> list[str]:
    problems = [f"{path}: unlabelled {html}" for html in page.evaluate(UNLABELLED)]
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 1:
        problems.append(f"{path} at {width}px: {overflow}px wider than the screen")
    return problems


@pytest.mark.parametrize("width", [375, 1280])
def test_every_page_is_labelled_and_fits_the_screen(browser: Browser, stack, account, width: int) -> None:
    viewport = {"width": width, "height": 900}
    problems: list[str] = []
    signed_out = browser.new_context(base_url=stack.base_url, viewport=viewport)
    signed_in = signed_in_context(browser, stack, account, viewport=viewport)
    try:
        for context, paths in ((signed_out, SIGNED_OUT_PATHS), (signed_in, SIGNED_IN_PATHS)):
            page = context.new_page()
            for path in paths:
                _settle(page, path)
                problems += _check_page(page, path, width)
    finally:
        signed_out.close()
        signed_in.close()
    assert problems == []


def test_the_keyboard_reaches_the_content_and_every_page(signed_in_page: Page) -> None:
    page = signed_in_page
    _settle(page, "/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    # The main navigation is a list of links reachable with Tab; Enter follows one.
    nav = page.get_by_role("navigation", name="Main")
    keys = nav.get_by_role("link", name="Keys")
    keys.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{page.url.split('/', 3)[0]}//{page.url.split('/')[2]}/keys")
    expect(keys).to_have_attribute("aria-current", "page")
