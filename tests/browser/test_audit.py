"""The audit log in a real browser, against the session stack: the merged list shows the
credential and upload events of the account, a filter narrows it (and lives in the URL), the
export downloads the same filter."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect
from support.browser import screenshot
from support.usage_api import add_credential
from testkit.waiting import wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"


def rows(page: Page):
    return page.locator("table.audit-table tbody tr")


def test_the_log_lists_key_and_upload_events_and_a_filter_narrows_it(
    signed_in_page: Page, stack, account, http, provider_fakes
) -> None:
    credential = add_credential(http, stack, account, "openai", provider_fakes.openai.tenant().api_key)
    response = http.post(
        f"{stack.base_url}/v1/uploads",
        headers=account.headers,
        files={"file": ("jan.csv", (FIXTURES / "openai_cost.csv").read_bytes(), "text/csv")},
        timeout=120,
    )
    assert response.status_code == 202, response.text
    upload_id = response.json()["upload"]["id"]

    page = signed_in_page
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto("/audit")
    key_row = rows(page).filter(has_text="credential.create")
    expect(key_row).to_have_count(1)
    expect(key_row).to_contain_text("Provider key added")
    expect(key_row).to_contain_text(credential["id"])
    expect(key_row.locator(".badge")).to_have_text("success")
    upload_row = rows(page).filter(has_text="upload.created")
    expect(upload_row).to_have_count(1)
    expect(upload_row).to_contain_text(upload_id)
    # Times are in the browser's zone, with the exact UTC instant kept on the element.
    expect(key_row.locator("time")).to_have_attribute("datetime", re.compile(r"Z$"))
    screenshot(page, "audit")

    # The page lists what the API lists. Sync events are written in the background, so the two
    # are compared once a page load and the API call around it agree on the count.
    def audit_count() -> int:
        answer = http.get(f"{stack.base_url}/v1/audit-events", headers=account.headers, timeout=30)
        return len(answer.json()["items"])

    def page_and_api_agree() -> tuple[int, int] | None:
        before = audit_count()
        page.reload()
        expect(rows(page).first).to_be_visible()
        shown = rows(page).count()
        return (shown, before) if audit_count() == before else None

    shown, listed = wait_until(page_and_api_agree, 15, 0.5, "the page and the API to agree on the events")
    assert shown == listed

    page.get_by_label("Action").select_option(label="Billing files")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/audit\?action=upload$"))
    expect(rows(page).filter(has_text="credential.create")).to_have_count(0)
    expect(rows(page).filter(has_text="upload.created")).to_have_count(1)
    narrowed = http.get(
        f"{stack.base_url}/v1/audit-events", params={"action": "upload"}, headers=account.headers, timeout=30
    ).json()["items"]
    assert narrowed and all(e["action"].startswith("upload.") for e in narrowed)
    expect(rows(page)).to_have_count(len(narrowed))

    # A reload keeps the filter (it lives in the URL).
    page.reload()
    expect(page.get_by_label("Action")).to_have_value("upload")
    expect(rows(page).filter(has_text="credential.create")).to_have_count(0)

    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename == "aicosts-audit-events.csv"
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert {e["action"] for e in exported} == {e["action"] for e in narrowed}

    page.get_by_label("Outcome").select_option("denied")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"action=upload&outcome=denied$"))
    expect(page.get_by_role("heading", name="No events match these filters")).to_be_visible()
    assert not [m for m in console if "Content Security Policy" in m], console


def test_load_more_follows_the_cursor(signed_in_page: Page, stack, account, http) -> None:
    # More than a page (50) of events: each refused upload is an audited failure.
    for i in range(52):
        http.post(
            f"{stack.base_url}/v1/uploads",
            headers=account.headers,
            files={"file": (f"bad-{i}.txt", b"x", "text/plain")},
            timeout=60,
        )
    total = []
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        body = http.get(
            f"{stack.base_url}/v1/audit-events", params=params, headers=account.headers, timeout=30
        ).json()
        total += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(total) > 50, len(total)
    page = signed_in_page
    page.goto("/audit")
    expect(rows(page)).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(rows(page)).to_have_count(min(len(total), 100))
