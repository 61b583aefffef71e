"""The AES key material lives in the keyvault process alone: only its environment names the
keyring file, no other service's configuration reads or holds it, no other service's code
imports keyvault's key handling, and no process environment carries key bytes."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OTHER_SERVICES = ("auth", "usage", "parser", "gateway")
KEYRING_ENV = "KEYVAULT_KEYRING_FILE"
_opened: list[str] = []


def _audit_hook(event: str, args: tuple) -> None:
    if event == "open" and args and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit_hook)  # cannot be removed; it only appends paths to a list


def stack_processes(stack) -> dict[int, tuple[str, dict[str, str]]]:
    """pid → (command line, environment) of every process of this stack."""
    found = {}
    for pid in stack.leftover_pids():
        proc = Path("/proc") / str(pid)
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            pairs = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        env = dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)
        found[pid] = (cmdline, env)
    return found


def service_of(cmdline: str) -> str | None:
    if cmdline.startswith(("/bin/sh -c", "sh -c")):
        return "shell"  # honcho's wrapper shell; the variable is an assignment for its child only
    for name in ("keyvault", "auth", "usage", "parser"):
        if f"-m {name}" in cmdline and "devstack" not in cmdline:
            return name
    return "gateway" if "gunicorn" in cmdline else None


def master_keys(stack) -> list[str]:
    doc = json.loads((stack.var_dir / "secrets" / "keyvault" / "keyring.json").read_text())
    return [entry["key"] for entry in doc["keys"].values()]


def test_only_the_keyvault_process_is_told_where_the_keyring_is(stack):
    processes = stack_processes(stack)
    by_service: dict[str, list[dict[str, str]]] = {}
    for cmdline, env in processes.values():
        by_service.setdefault(service_of(cmdline) or "other", []).append(env)
    assert set(OTHER_SERVICES) | {"keyvault"} <= set(by_service), sorted(by_service)
    assert all(KEYRING_ENV in env for env in by_service["keyvault"])
    for name, envs in by_service.items():
        if name != "keyvault":
            assert not any(KEYRING_ENV in env for env in envs), f"{name} has {KEYRING_ENV}"
    keys = master_keys(stack)
    for cmdline, env in processes.values():
        blob = cmdline + "\n".join(f"{k}={v}" for k, v in env.items())
        assert not any(k in blob or base64.b64decode(k).hex() in blob for k in keys), cmdline


def _values(obj, depth: int = 0):
    """Every leaf value of a (nested) config dataclass."""
    if dataclasses.is_dataclass(obj) and depth < 5:
        for f in dataclasses.fields(obj):
            yield from _values(getattr(obj, f.name), depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _values(v, depth + 1)
    elif isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            yield from _values(v, depth + 1)
    else:
        yield obj


@pytest.mark.parametrize("service", OTHER_SERVICES)
def test_other_services_configuration_never_reads_the_keyring(stack, tmp_path, service):
    envs = [env for cmdline, env in stack_processes(stack).values() if service_of(cmdline) == service]
    assert envs, f"no {service} process found"
    decoy = tmp_path / "keyring.json"
    decoy.write_text((stack.var_dir / "secrets" / "keyvault" / "keyring.json").read_text())
    env = {**envs[0], KEYRING_ENV: str(decoy)}
    config = importlib.import_module(f"{service}.config")
    _opened.clear()
    cfg = config.load(env)
    assert not any(str(decoy) in path for path in _opened), f"{service} config opened the keyring"
    keys = master_keys(stack)
    for value in _values(cfg):
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        assert str(decoy) not in text and not any(k in text for k in keys), f"{service} config holds it"


def test_keyvault_itself_reads_it(stack, tmp_path):
    envs = [env for cmdline, env in stack_processes(stack).values() if service_of(cmdline) == "keyvault"]
    from keyvault import config

    cfg = config.load(envs[0])
    assert cfg.keyring_file == Path(envs[0][KEYRING_ENV])


def test_no_other_service_code_touches_key_handling():
    imports_keyvault = re.compile(r"^\s*(from|import)\s+keyvault\b", re.MULTILINE)
    roots = [REPO / "services" / s / s for s in OTHER_SERVICES] + [REPO / "services" / "common" / "svccommon"]
    offenders = [
        str(path.relative_to(REPO))
        for root in roots
        for path in root.rglob("*.py")
        if KEYRING_ENV in (text := path.read_text(errors="replace")) or imports_keyvault.search(text)
    ]
    assert offenders == []
