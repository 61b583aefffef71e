"""The real gateway under gunicorn with no backends running: readiness fails as problem+json,
and a non-loopback bind without TLS is refused at start."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time

import pytest
import requests
from devstack import secrets
from support.ports import free_ports


@pytest.fixture()
def gateway_env(tmp_path):
    paths = secrets.ensure_all(tmp_path / "secrets", "aicosts.local")
    gw, *closed = free_ports(5)
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_ADDR")},
        "GATEWAY_PORT": str(gw),
        "TLS_DIR": str(paths["tls_dir"]),
        "GATEWAY_JWT_PUBLIC_KEY_FILE": str(paths["jwt_public"]),
        "GATEWAY_BACKEND_TIMEOUT_MS": "500",
        **{
            f"{s.upper()}_ADDR": f"127.0.0.1:{p}"
            for s, p in zip(("auth", "keyvault", "usage", "parser"), closed, strict=True)
        },
    }
    return env, gw


def _gunicorn(env):
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    return subprocess.Popen(
        [gunicorn, "-c", "python:gateway.gunicorn_conf", "gateway:create_app()"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the gateway did not start listening"
            time.sleep(0.2)


def test_readyz_is_503_problem_when_backends_are_down(gateway_env):
    env, port = gateway_env
    proc = _gunicorn(env)
    try:
        wait_until_listening(port)
        response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["services"] == {s: "UNKNOWN" for s in ("auth", "keyvault", "usage", "parser")}
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(15)


def test_plain_http_on_public_address_is_refused(gateway_env):
    env, _ = gateway_env
    proc = _gunicorn({**env, "GATEWAY_HOST": "0.0.0.0"})
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert b"GATEWAY_TLS_CERT_FILE" in out


def test_https_requires_tls_1_2_or_newer(gateway_env):
    import socket
    import ssl

    env, port = gateway_env
    tls_dir = env["TLS_DIR"]
    proc = _gunicorn(
        {
            **env,
            "GATEWAY_TLS_CERT_FILE": f"{tls_dir}/gateway.crt",
            "GATEWAY_TLS_KEY_FILE": f"{tls_dir}/gateway.key",
        }
    )

    def handshake(max_version: ssl.TLSVersion) -> str:
        ctx = ssl.create_default_context(cafile=f"{tls_dir}/ca.crt")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = max_version
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version()

    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert handshake(ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
                break
            except (ConnectionRefusedError, ConnectionResetError):
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        with pytest.raises(ssl.SSLError):
            handshake(ssl.TLSVersion.TLSv1_1)
        reply = requests.get(f"https://127.0.0.1:{port}/healthz", verify=f"{tls_dir}/ca.crt", timeout=5)
        assert reply.status_code == 200 and "Strict-Transport-Security" in reply.headers
    finally:
        proc.terminate()
        proc.wait(15)


def test_an_idle_keep_alive_connection_outlives_a_users_think_time(gateway_env):
    """A browser or ingress-nginx reuses a connection after seconds of quiet; the gateway must not
    have closed it meanwhile (gunicorn's default of 2 s did, and a request sent at that instant failed)."""
    env, port = gateway_env
    proc = _gunicorn(env)
    try:
        wait_until_listening(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        local_end = connection.sock.getsockname()
        time.sleep(4)  # longer than gunicorn's default keep-alive (2 s), shorter than ours
        connection.request("GET", "/healthz")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock.getsockname() == local_end, "the connection was not reused"
        connection.close()
    finally:
        proc.terminate()
        proc.wait(15)
