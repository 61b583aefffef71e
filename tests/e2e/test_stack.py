"""The whole system started exactly as `make run` starts it: embedded database, generated
secrets, every service its own process; ready within 90 s; Ctrl-C leaves nothing behind."""

from __future__ import annotations

import time

import pytest
import requests
from gateway.healthcache import NOT_SERVING_MAX_AGE_S
from support.stack import make_stack

pytestmark = pytest.mark.slow


def _once_settled(url: str) -> requests.Response:
    """The answer once every gateway worker's view has caught up: a worker keeps a "not ready"
    answer it probed while the backends were starting for NOT_SERVING_MAX_AGE_S."""
    time.sleep(NOT_SERVING_MAX_AGE_S)
    return requests.get(url, timeout=5)


def test_make_run_stack_becomes_ready_and_stops_cleanly(tmp_path):
    stack = make_stack(tmp_path / "var")  # no MONGODB_URI: the embedded database, as `make run`
    stack.start()
    try:
        seconds = stack.wait_ready(timeout_s=90)
        print(f"stack ready in {seconds:.1f}s")

        ready = _once_settled(f"{stack.base_url}/readyz")
        assert ready.status_code == 200
        assert ready.json()["services"] == {s: "SERVING" for s in ("auth", "keyvault", "usage", "parser")}

        status = _once_settled(f"{stack.base_url}/v1/status").json()
        assert status == {
            "services": {"auth": "SERVING", "keyvault": "SERVING", "usage": "SERVING", "parser": "SERVING"},
            "region": "us-east-1",
        }
        # Secrets were generated into the state folder, not the repository.
        assert (stack.var_dir / "secrets" / "tls" / "ca.crt").is_file()
        assert (stack.var_dir / "secrets" / "keyvault" / "keyring.json").stat().st_mode & 0o077 == 0
    finally:
        stack.stop()
    assert stack.leftover_pids() == [], stack.log_text()[-3000:]
    log = stack.log_text()
    for name in ("auth", "keyvault", "usage", "parser"):
        assert f'"service": "{name}"' in log and "draining" in log
    # Every process drained and exited by itself: nothing needed honcho's SIGKILL.
    for name in ("db", "auth", "keyvault", "usage", "parser", "gateway"):
        assert f"{name}.1 stopped (rc=0)" in log, log[-3000:]
    assert "SIGKILL" not in log


def test_second_start_reuses_state_and_secrets(tmp_path):
    """`make run` is idempotent: a second start keeps the generated CA and keyring."""
    first = make_stack(tmp_path / "var")
    first.start()
    try:
        first.wait_ready()
        ca = (first.var_dir / "secrets" / "tls" / "ca.crt").read_bytes()
        keyring = (first.var_dir / "secrets" / "keyvault" / "keyring.json").read_bytes()
    finally:
        first.stop()
    second = make_stack(tmp_path / "var")
    second.start()
    try:
        second.wait_ready()
        assert (second.var_dir / "secrets" / "tls" / "ca.crt").read_bytes() == ca
        assert (second.var_dir / "secrets" / "keyvault" / "keyring.json").read_bytes() == keyring
    finally:
        second.stop()
    assert second.leftover_pids() == []
