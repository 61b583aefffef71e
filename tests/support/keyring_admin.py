"""Running the key-rotation commands against a test stack, as an operator would: keyvault.admin
with the keyring and the database, and each service's maintenance job (auth.rewrap,
usage.alerts.rewrap) with that service's environment."""

from __future__ import annotations

import subprocess
import sys

from devstack.__main__ import stack_env


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], env=env, capture_output=True, text=True, timeout=120)


def admin_env(stack, mongo_uri: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "KEYVAULT_KEYRING_FILE": str(stack.var_dir / "secrets" / "keyvault" / "keyring.json"),
        "MONGODB_URI": mongo_uri,
    }


def admin(stack, mongo_uri: str, *argv: str) -> subprocess.CompletedProcess:
    done = run(["keyvault.admin", *argv], admin_env(stack, mongo_uri))
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def retire(stack, mongo_uri: str, version: int, copy: str) -> subprocess.CompletedProcess:
    """Retire `version` into a copy of the keyring (the running stack keeps its own)."""
    return run(["keyvault.admin", "retire", str(version), "--output", copy], admin_env(stack, mongo_uri))


def service_job(stack, module: str) -> subprocess.CompletedProcess:
    """A service's maintenance job with that service's environment, as `make run` gives it."""
    return run([module], stack_env(dict(stack.env)))
