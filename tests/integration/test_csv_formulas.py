"""CSV exports through the gateway: a text cell a spreadsheet could run as a formula starts with
an apostrophe, also when a NUL, a tab, a line break or spaces come before the formula sign."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from support.accounts import new_account
from support.billing import upgrade
from support.usage_api import add_credential, wait_for_runs

HIDDEN_FORMULAS = ["\0=1+1", "\t=2+2", "\r=3+3", "\n=4+4", "  =5+5", "\0@SUM(A1)", "=6+6"]
PLAIN = ["plain-model", "vendor/model-2"]


def test_usage_export_quotes_every_formula_cell(
    stack: Any, http: Any, provider_fakes: Any, stripe_fake: Any
) -> None:
    account = new_account(stack)
    day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
    tenant = provider_fakes.openrouter.tenant()
    tenant.load_activity([{"date": day, "model": m, "usage": "0.01"} for m in HIDDEN_FORMULAS + PLAIN])
    credential = add_credential(http, stack, account, "openrouter", tenant.api_key)
    wait_for_runs(http, stack, account, credential["id"])
    upgrade(stack, stripe_fake, account)  # CSV export is part of the Professional plan

    export = http.get(f"{stack.base_url}/v1/usage/export", headers=account.headers, timeout=60)
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.content.decode(), newline="")))
    assert sorted(r["model"] for r in rows) == sorted(["'" + m for m in HIDDEN_FORMULAS] + PLAIN)
