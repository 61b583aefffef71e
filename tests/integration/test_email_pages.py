"""A person follows the links in the emails with a browser: the pages show a form, the form
finishes the job once, and a used link explains itself."""

from __future__ import annotations

import requests
from support import outbox
from support.accounts import login, signup, strong_password, unique_email


def test_verification_link_opens_a_page_that_confirms_once(stack):
    email, password = unique_email(), strong_password()
    signup(stack, email, password)
    (link,) = outbox.latest(stack, email, "confirm your email").links()

    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert (
        "<form method=post>" in page.text and "form-action 'self'" in page.headers["Content-Security-Policy"]
    )
    token = link.split("token=", 1)[1]
    assert f'value="{token}"' in page.text

    done = requests.post(f"{stack.base_url}/verify-email", data={"token": token}, timeout=10)
    assert done.status_code == 200 and "Email confirmed" in done.text
    me = requests.get(
        f"{stack.base_url}/v1/me",
        headers={"Authorization": f"Bearer {login(stack, email, password)['access_token']}"},
        timeout=10,
    )
    assert me.json()["account"]["email_verified"] is True

    again = requests.post(f"{stack.base_url}/verify-email", data={"token": token}, timeout=10)
    assert again.status_code == 400 and "Email not confirmed" in again.text


def test_reset_link_opens_a_page_that_sets_the_new_password(stack):
    email, old, new = unique_email(), strong_password(), strong_password()
    signup(stack, email, old)
    requests.post(f"{stack.base_url}/v1/auth/password-reset", json={"email": email}, timeout=10)
    mail = outbox.wait_for(stack, email, "reset")[-1]
    (link,) = mail.links()
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "name=new_password" in page.text

    done = requests.post(
        f"{stack.base_url}/reset-password", data={"token": mail.token(), "new_password": new}, timeout=10
    )
    assert done.status_code == 200 and "Password changed" in done.text
    assert "access_token" in login(stack, email, new)

    weak = requests.post(
        f"{stack.base_url}/reset-password",
        data={"token": mail.token(), "new_password": "password"},
        timeout=10,
    )
    assert weak.status_code in (400, 422) and "<h1>Password not changed</h1>" in weak.text
    assert "Traceback" not in weak.text
