"""python -m devstack run: generate development secrets if absent, then start the embedded
database and every service as its own process under honcho (Ctrl-C stops them all)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from svccommon.config import ConfigError, env_int
from svccommon.services import DEFAULT_PORTS, GRPC_SERVICES

from devstack import secrets

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DEVDB_PORT = 27117


def stack_env(base: dict[str, str]) -> dict[str, str]:
    """The environment every process of the local stack gets (explicit variables win)."""
    env = dict(base)
    var_dir = Path(env.get("AICOSTS_VAR_DIR") or REPO_ROOT / "var").resolve()
    env["AICOSTS_VAR_DIR"] = str(var_dir)
    env.setdefault("AICOSTS_ENV", "development")
    env.setdefault("TRUST_DOMAIN", "aicosts.local")
    env.setdefault("REGION", "us-east-1")
    env.setdefault("SHUTDOWN_GRACE_SECONDS", "3")
    env.setdefault("SHUTDOWN_DELAY_SECONDS", "0.5")
    paths = secrets.ensure_all(var_dir / "secrets", env["TRUST_DOMAIN"])
    env.setdefault("TLS_DIR", str(paths["tls_dir"]))
    # KEYVAULT_KEYRING_FILE is not set here: the Procfile gives it to the keyvault process alone.
    env.setdefault("AUTH_JWT_PRIVATE_KEY_FILE", str(paths["jwt_private"]))
    env.setdefault("GATEWAY_JWT_PUBLIC_KEY_FILE", str(paths["jwt_public"]))
    env.setdefault("EMAIL_OUTBOX_DIR", str(var_dir / "outbox"))
    env.setdefault("UPLOAD_DIR", str(var_dir / "uploads"))
    gateway_port = env.get("GATEWAY_PORT") or str(DEFAULT_PORTS["gateway"])
    env.setdefault("PUBLIC_BASE_URL", f"http://{env.get('GATEWAY_HOST', '127.0.0.1')}:{gateway_port}")
    for name in (*GRPC_SERVICES, "gateway"):
        port = env_int(env, f"{name.upper()}_PORT", DEFAULT_PORTS[name], minimum=1, maximum=65535)
        env[f"{name.upper()}_PORT"] = str(port)
        if name != "gateway":
            env.setdefault(f"{name.upper()}_ADDR", f"127.0.0.1:{port}")
    env["DEVDB_PORT"] = str(env_int(env, "DEVDB_PORT", DEFAULT_DEVDB_PORT, minimum=1, maximum=65535))
    env.setdefault("MONGODB_URI", f"mongodb://127.0.0.1:{env['DEVDB_PORT']}/")
    # Processes run from the repo root with this interpreter's virtualenv first on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(args: argparse.Namespace) -> None:
    external_db = bool(os.environ.get("MONGODB_URI"))
    try:
        env = stack_env(dict(os.environ))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    processes = [*([] if external_db else ["db"]), *GRPC_SERVICES, "gateway"]
    scheme = "https" if env.get("GATEWAY_TLS_CERT_FILE") else "http"
    host = env.get("GATEWAY_HOST", "127.0.0.1")
    print(
        f"AICosts is starting: {scheme}://{host}:{env['GATEWAY_PORT']}  (Ctrl-C stops everything)", flush=True
    )
    os.chdir(REPO_ROOT)
    honcho = str(Path(sys.executable).parent / "honcho")
    os.execve(honcho, [honcho, "start", "--procfile", "Procfile", *processes], env)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the whole local stack")
    sub.add_parser("secrets", help="only generate the development secrets")
    args = parser.parse_args()
    if args.command == "secrets":
        stack_env(dict(os.environ))
        return
    run(args)


if __name__ == "__main__":
    main()
