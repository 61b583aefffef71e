"""The steps every cloud connector's end-to-end test shares: connect a multi-field credential
through the gateway, wait for its backfill, read the summary, and check that a wrong secret shows
the key as invalid. Each test keeps what is its own: the bill, the expected figures, the requests
the fake should have seen."""

from __future__ import annotations

import json
from typing import Any

from support.usage_api import runs_of, wait_for_runs


class CloudFlow:
    """One account's view of one cloud platform through the gateway. `bodies` collects every
    response text, so a test can check that no secret was ever in one."""

    def __init__(self, stack: Any, http: Any, account: Any, platform: str, label: str) -> None:
        self.stack, self.http, self.account = stack, http, account
        self.platform, self.label = platform, label
        self.bodies: list[str] = []

    def _keep(self, response: Any) -> Any:
        self.bodies.append(response.text)
        return response

    def field_shapes(self) -> list[tuple[str, bool]]:
        """(name, secret) of each field `/v1/platforms` describes for the platform."""
        items = self.http.get(f"{self.stack.base_url}/v1/platforms", timeout=30).json()["items"]
        (entry,) = [p for p in items if p["id"] == self.platform]
        assert entry["connect"] == "both"
        return [(f["name"], f["secret"]) for f in entry["fields"]]

    def post(self, body: dict[str, Any]) -> Any:
        return self._keep(
            self.http.post(
                f"{self.stack.base_url}/v1/credentials",
                json={"platform": self.platform, **body},
                headers=self.account.headers,
                timeout=30,
            )
        )

    def post_fields(self, fields: dict[str, str]) -> Any:
        return self.post({"fields": fields, "label": self.label})

    def connect(self, fields: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Store the credential and wait for its backfill: (credential, the backfill run)."""
        created = self.post_fields(fields)
        assert created.status_code == 201, created.text
        credential = created.json()["credential"]
        wait_for_runs(self.http, self.stack, self.account, credential["id"])
        (backfill,) = runs_of(self.http, self.stack, self.account, credential["id"])
        self.bodies.append(json.dumps(backfill))
        return credential, backfill

    def summary(self, **params: str) -> dict[str, Any]:
        response = self._keep(
            self.http.get(
                f"{self.stack.base_url}/v1/usage/summary",
                params=params,
                headers=self.account.headers,
                timeout=30,
            )
        )
        assert response.status_code == 200, response.text
        return response.json()

    def statuses(self) -> list[str]:
        listed = self._keep(
            self.http.get(f"{self.stack.base_url}/v1/credentials", headers=self.account.headers, timeout=30)
        )
        return [c["status"] for c in listed.json()["items"]]

    def refused_key(self, fields: dict[str, str]) -> dict[str, Any]:
        """Connect with a credential the provider refuses: the run fails and the key, as the API
        shows it, is invalid. Returns that key."""
        credential, run = self.connect(fields)
        assert run["status"] == "failed", run
        shown = self._keep(
            self.http.get(
                f"{self.stack.base_url}/v1/credentials/{credential['id']}",
                headers=self.account.headers,
                timeout=30,
            )
        )
        key = shown.json()["credential"]
        assert key["status"] == "invalid", key
        return key

    def assert_never_shown(self, *secrets: str) -> None:
        """No response this flow received, and no line of the stack's log, holds any secret."""
        log = self.stack.log_text()
        for secret in secrets:
            assert all(secret not in text for text in self.bodies), "a secret reached an API response"
            assert secret not in log, "a secret reached the log"
