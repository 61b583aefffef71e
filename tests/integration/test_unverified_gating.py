"""An account whose email address is not confirmed cannot store provider keys or upload billing
files: keyvault and the parser refuse it (each asks auth for the account's state itself, as it
does for the plan), with a 403 problem that says what to do."""

from __future__ import annotations

from pathlib import Path

import requests
from support.accounts import login, random_loopback_ip, session_from, strong_password, unique_email, verify

FIXTURES = Path(__file__).resolve().parents[2] / "services" / "parser" / "tests" / "fixtures"


def _unverified(response: requests.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/email-unverified")
    assert problem["detail"].startswith("Confirm your email address before")
    assert "POST /v1/me/email-verification" in problem["detail"]


def _signed_up_unverified(stack, client: requests.Session, prefix: str) -> tuple[str, dict[str, str]]:
    """A new account that has not confirmed its address, signed in: (email, auth headers)."""
    email, password = unique_email(prefix), strong_password()
    body = {"email": email, "password": password, "name": "Unconfirmed"}
    assert client.post(f"{stack.base_url}/v1/auth/signup", json=body).status_code < 300
    token = login(stack, email, password, http=client)["access_token"]
    return email, {"Authorization": f"Bearer {token}"}


def test_an_unverified_account_cannot_store_keys_or_upload_until_it_confirms(stack, provider_fakes):
    with session_from(random_loopback_ip()) as client:
        email, headers = _signed_up_unverified(stack, client, "unconfirmed")

        key = provider_fakes.openai.tenant().api_key
        credential = {"platform": "openai", "api_key": key, "label": "x"}
        _unverified(client.post(f"{stack.base_url}/v1/credentials", json=credential, headers=headers))
        assert client.get(f"{stack.base_url}/v1/credentials", headers=headers).json()["items"] == []
        files = {"file": ("cost.csv", (FIXTURES / "openai_cost.csv").read_bytes(), "text/csv")}
        _unverified(client.post(f"{stack.base_url}/v1/uploads", files=files, headers=headers))

        verify(stack, email)  # the same access token works at once: the state is asked for each time
        uploaded = client.post(f"{stack.base_url}/v1/uploads", files=files, headers=headers)
        assert uploaded.status_code == 202, uploaded.text


def test_an_unverified_account_cannot_buy_a_plan(stack, stripe_fake):
    """Unverified accounts expire after 7 days: none may hold a paid subscription."""
    with session_from(random_loopback_ip()) as client:
        email, headers = _signed_up_unverified(stack, client, "unconfirmed-buyer")
        checkout = {"plan": "professional"}
        _unverified(client.post(f"{stack.base_url}/v1/billing/checkout", json=checkout, headers=headers))
        verify(stack, email)
        bought = client.post(f"{stack.base_url}/v1/billing/checkout", json=checkout, headers=headers)
        assert bought.status_code == 200 and bought.json()["url"], bought.text
