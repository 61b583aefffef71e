"""The web app's security rules, checked over real HTTP and HTTPS and in a real browser: cookie
flags, CSRF on every cookie-authenticated write, session rotation and server-side sign-out, the
Content-Security-Policy on every page, and assets that are cached while pages are not."""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from devstack.__main__ import stack_env
from gateway.web.shell import APP_PATHS
from playwright.sync_api import Browser, expect
from support import processes
from support.browser import signed_in_context, web_session
from support.ports import free_ports

HTML_PATHS = [*APP_PATHS, "/verify-email", "/reset-password"]


def _set_cookie_headers(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def _cookie(headers: list[str], name: str) -> str:
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert len(found) == 1, f"{name} not set once in {headers}"
    return found[0]


def _attrs(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_plain_http_cookies_are_httponly_samesite_and_host_only(stack, account) -> None:
    response = requests.post(
        f"{stack.base_url}/web/session",
        json={"email": account.email, "password": account.password},
        timeout=30,
    )
    assert response.status_code == 200
    headers = _set_cookie_headers(response)
    session, refresh, csrf = (
        _cookie(headers, n) for n in ("aicosts_session", "aicosts_refresh", "aicosts_csrf")
    )
    assert {"httponly", "path", "samesite"} <= _attrs(session) and "samesite=lax" in session.lower()
    assert {"httponly", "path", "samesite"} <= _attrs(refresh) and "samesite=strict" in refresh.lower()
    assert "httponly" not in _attrs(csrf) and "samesite=strict" in csrf.lower()
    assert all("domain" not in _attrs(h) for h in headers)
    assert "access_token" not in response.text and "refresh_token" not in response.text


@contextlib.contextmanager
def https_gateway(stack, log_dir: Path) -> Iterator[tuple[str, str]]:
    """One more gateway, serving HTTPS with the development CA's certificate, on the session stack."""
    (port,) = free_ports(1)
    env = stack_env(dict(stack.env))
    env.update(
        {
            "GATEWAY_PORT": str(port),
            "GATEWAY_WORKERS": "1",
            "GATEWAY_TLS_CERT_FILE": f"{env['TLS_DIR']}/gateway.crt",
            "GATEWAY_TLS_KEY_FILE": f"{env['TLS_DIR']}/gateway.key",
        }
    )
    proc = processes.start_gateway(env, log_dir)
    base, ca = f"https://127.0.0.1:{port}", f"{env['TLS_DIR']}/ca.crt"
    try:
        processes.wait_ready(base, [proc], log_dir, verify=ca)
        yield base, ca
    finally:
        processes.stop([proc], [signal.SIGQUIT])


def test_https_cookies_are_host_prefixed_and_secure(stack, account, browser: Browser, tmp_path) -> None:
    with https_gateway(stack, tmp_path) as (base, ca):
        response = requests.post(
            f"{base}/web/session",
            json={"email": account.email, "password": account.password},
            verify=ca,
            timeout=30,
        )
        assert response.status_code == 200
        headers = _set_cookie_headers(response)
        for name in ("__Host-aicosts_session", "__Host-aicosts_refresh", "__Host-aicosts_csrf"):
            cookie = _cookie(headers, name)
            assert {"secure", "path", "samesite"} <= _attrs(cookie), cookie
            assert "path=/" in cookie.lower() and "domain" not in _attrs(cookie)
        assert not [h for h in headers if h.startswith("aicosts_")]

        # The browser accepts them (it refuses a __Host- cookie that breaks the prefix's rules),
        # and the pages work with them.
        context = browser.new_context(base_url=base, ignore_https_errors=True)
        try:
            page = context.new_page()
            page.goto("/signin")
            page.get_by_label("Email").fill(account.email)
            page.get_by_label("Password").fill(account.password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            jar = {c["name"]: c for c in context.cookies()}
            assert jar["__Host-aicosts_session"]["httpOnly"] and jar["__Host-aicosts_session"]["secure"]
            assert jar["__Host-aicosts_session"]["sameSite"] == "Lax"
            assert jar["__Host-aicosts_refresh"]["sameSite"] == "Strict"
            assert not jar["__Host-aicosts_csrf"]["httpOnly"]
        finally:
            context.close()


def test_cookie_writes_need_the_csrf_header_and_the_same_origin(stack, account) -> None:
    client = web_session(stack, account)
    base = stack.base_url
    body = {"platform": "openai", "api_key": "sk-admin-" + "x" * 40, "label": "csrf probe"}
    token = client.cookies["aicosts_csrf"]

    no_header = client.post(f"{base}/v1/credentials", json=body, timeout=30)
    wrong = client.post(f"{base}/v1/credentials", json=body, headers={"X-CSRF-Token": "nope"}, timeout=30)
    other_port = client.post(
        f"{base}/v1/credentials",
        json=body,
        headers={"X-CSRF-Token": token, "Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},
        timeout=30,
    )
    for refused in (no_header, wrong, other_port):
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/csrf") and refused.json()["request_id"]
    assert client.get(f"{base}/v1/credentials", timeout=30).json()["items"] == []

    # Reads need no token; sign-out and refresh are writes too.
    assert client.get(f"{base}/v1/me", timeout=30).status_code == 200
    assert client.post(f"{base}/web/session/signout", timeout=30).status_code == 403
    assert client.post(f"{base}/web/session/refresh", timeout=30).status_code == 403
    # Bearer clients never need it: CSRF is a cookie problem only.
    assert requests.get(f"{base}/v1/credentials", headers=account.headers, timeout=30).status_code == 200


class _AttackerSite(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        page = (
            "<!doctype html><title>win a prize</title>"
            f'<form id=f method=post action="{self.target}/v1/credentials">'
            "<input name=platform value=openai>"
            '<input name=api_key value="sk-admin-attacker-key-000000000000">'
            "<input name=label value=attacker><button id=go type=submit>Claim</button></form>"
        )
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def attacker_site(stack) -> Iterator[str]:
    handler = type("Attacker", (_AttackerSite,), {"target": stack.base_url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_cross_site_form_post_is_refused(browser: Browser, stack, account, attacker_site: str) -> None:
    context = signed_in_context(browser, stack, account)
    try:
        page = context.new_page()
        page.goto(attacker_site)
        with page.expect_navigation():
            page.click("#go")
        assert "csrf" in page.content().lower()
        listed = requests.get(f"{stack.base_url}/v1/credentials", headers=account.headers, timeout=30)
        assert listed.json()["items"] == []
    finally:
        context.close()


def test_sign_in_rotates_the_session_and_sign_out_ends_it_on_the_server(stack, account) -> None:
    client = web_session(stack, account)
    first = dict(client.cookies)
    again = client.post(
        f"{stack.base_url}/web/session",
        json={"email": account.email, "password": account.password},
        timeout=30,
    )
    assert again.status_code == 200
    second = dict(client.cookies)
    assert all(first[n] != second[n] for n in ("aicosts_session", "aicosts_refresh", "aicosts_csrf"))
    # The replaced session is over: its access token and refresh token no longer work.
    old = requests.get(
        f"{stack.base_url}/v1/me", cookies={"aicosts_session": first["aicosts_session"]}, timeout=30
    )
    assert old.status_code == 401

    out = client.post(
        f"{stack.base_url}/web/session/signout", headers={"X-CSRF-Token": second["aicosts_csrf"]}, timeout=30
    )
    assert out.status_code == 204 and '"cache"' in out.headers["Clear-Site-Data"]
    assert not client.cookies.get("aicosts_session")
    replay = requests.get(
        f"{stack.base_url}/v1/me", cookies={"aicosts_session": second["aicosts_session"]}, timeout=30
    )
    assert replay.status_code == 401


@pytest.mark.parametrize("path", HTML_PATHS)
def test_every_page_has_a_strict_csp_and_is_never_cached(stack, path: str) -> None:
    response = requests.get(f"{stack.base_url}{path}", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_assets_are_cached_for_good_under_a_versioned_url(stack) -> None:
    shell = requests.get(f"{stack.base_url}/", timeout=30).text
    urls = re.findall(r'(?:href|src)="(/assets/[^"]+)"', shell)
    assert any(u.endswith("/js/app.js") for u in urls) and any(u.endswith("/css/app.css") for u in urls)
    for url in urls:
        response = requests.get(f"{stack.base_url}{url}", timeout=30)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        again = requests.get(
            f"{stack.base_url}{url}", headers={"If-None-Match": response.headers["ETag"]}, timeout=30
        )
        assert again.status_code == 304
    assert requests.get(f"{stack.base_url}/assets/x/js/nope.js", timeout=30).status_code == 404


def test_no_page_breaks_the_content_security_policy(browser: Browser, stack, account) -> None:
    """Every page, visited signed in and signed out, runs without a single CSP violation (an inline
    style or script would be blocked and reported on the console)."""
    violations: list[str] = []
    for context in (browser.new_context(base_url=stack.base_url), signed_in_context(browser, stack, account)):
        try:
            page = context.new_page()
            page.on(
                "console",
                lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
            )
            for path in HTML_PATHS:
                page.goto(path)
                expect(page.locator("h1").first).to_be_visible()
                page.wait_for_load_state("load")
        finally:
            context.close()
    assert violations == []
