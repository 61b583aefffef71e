"""Billing files in a real browser, against the session stack: pick an OpenAI cost export with
the file input, see the preview's totals equal GET /v1/uploads/{id}, import it and see it listed
as imported; discard another; a file name is always text."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from playwright.sync_api import Page, expect
from support.browser import screenshot

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"
XSS_NAME = "<img src=x onerror=window.__xss=1>.csv"


def dollars(value: str) -> str:
    cents = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${cents:,}"


def uploads_of(http, stack, account) -> list[dict]:
    response = http.get(f"{stack.base_url}/v1/uploads", headers=account.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_upload_preview_import_and_the_list(signed_in_page: Page, stack, account, http) -> None:
    page = signed_in_page
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto("/uploads")
    expect(page.get_by_role("heading", name="No billing files yet")).to_be_visible()
    file_input = page.get_by_label("Billing file")
    expect(file_input).to_have_attribute("type", "file")
    file_input.focus()  # the drop zone is a real, keyboard-reachable file input
    expect(file_input).to_be_focused()
    file_input.set_input_files(
        files=[
            {
                "name": "openai-costs-2025-01.csv",
                "mimeType": "text/csv",
                "buffer": (FIXTURES / "openai_cost.csv").read_bytes(),
            }
        ]
    )
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading")).to_contain_text("openai-costs-2025-01.csv")
    expect(preview).to_contain_text("OpenAI cost export")

    [listed] = uploads_of(http, stack, account)
    got = http.get(f"{stack.base_url}/v1/uploads/{listed['id']}", headers=account.headers, timeout=30)
    up = got.json()["upload"]
    assert up["status"] == "parsed"
    expect(page.locator("#preview-total")).to_have_text(dollars(up["total_cost_usd"]))
    expect(page.locator("#preview-total")).to_have_attribute("title", f"${up['total_cost_usd']}")
    expect(page.locator("#preview-records")).to_have_text(str(up["record_count"]))
    days = sorted(r["date"] for r in up["records_preview"])
    expect(page.locator("#preview-days")).to_have_text(f"{days[0]} to {days[-1]}")
    expect(preview.locator("tbody tr")).to_have_count(len(up["records_preview"]))
    for warning in up["warnings"]:
        expect(preview).to_contain_text(warning)
    screenshot(page, "uploads")

    preview.get_by_role("button", name=f"Import {up['record_count']} records").click()
    done = page.get_by_role("status").filter(has_text="Imported")
    expect(done).to_contain_text(f"Imported {up['record_count']} records from openai-costs-2025-01.csv")
    expect(done.get_by_role("link", name="See them in the overview")).to_have_attribute("href", "/")
    row = page.locator("table.uploads-table tbody tr").filter(has_text="openai-costs-2025-01.csv")
    expect(row.locator(".badge")).to_have_text("Imported")
    [after] = uploads_of(http, stack, account)
    assert after["status"] == "imported" and after["records_imported"] == up["record_count"]
    assert not [m for m in console if "Content Security Policy" in m], console


def test_discard_and_a_file_name_is_text(signed_in_page: Page, stack, account, http) -> None:
    page = signed_in_page
    page.goto("/uploads")
    page.get_by_label("Billing file").set_input_files(
        files=[
            {
                "name": XSS_NAME,
                "mimeType": "text/csv",
                "buffer": (FIXTURES / "anthropic_cost.csv").read_bytes(),
            }
        ]
    )
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading")).to_contain_text(XSS_NAME)
    expect(preview).to_contain_text("Anthropic cost export")
    row = page.locator("table.uploads-table tbody tr").filter(has_text=XSS_NAME)
    expect(row.locator(".badge")).to_have_text("Not imported")
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img").count() == 0

    preview.get_by_role("button", name="Discard").click()
    expect(page.locator(".result-slot").get_by_role("status")).to_contain_text(f"Discarded {XSS_NAME}")
    expect(preview).to_have_count(0)
    expect(page.get_by_role("heading", name="No billing files yet")).to_be_visible()
    assert uploads_of(http, stack, account) == []
    assert page.evaluate("window.__xss") is None


def test_a_file_that_is_not_a_billing_file_is_explained(signed_in_page: Page, account) -> None:
    page = signed_in_page
    page.goto("/uploads")
    page.get_by_label("Billing file").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    alert = page.locator(".upload-error").get_by_role("alert")
    expect(alert).to_contain_text(re.compile("not accepted|CSV", re.I))
    expect(alert).to_contain_text("Request ID:")
