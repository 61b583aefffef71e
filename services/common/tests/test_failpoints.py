"""A failpoint kills its process only when armed, and never in production."""

from __future__ import annotations

import os
import subprocess
import sys

from svccommon import failpoints

SCRIPT = "from svccommon.failpoints import failpoint; failpoint('step-done'); print('survived')"


def _run(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("AICOSTS_FAILPOINT", "AICOSTS_ENV")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_an_armed_failpoint_exits_137_without_running_what_follows() -> None:
    done = _run({"AICOSTS_FAILPOINT": "other, step-done", "AICOSTS_ENV": "development"})
    assert done.returncode == failpoints.EXIT_CODE
    assert "survived" not in done.stdout


def test_unarmed_or_other_names_do_nothing() -> None:
    assert _run({}).stdout.strip() == "survived"
    assert _run({"AICOSTS_FAILPOINT": "step", "AICOSTS_ENV": "development"}).stdout.strip() == "survived"


def test_only_an_explicit_development_environment_arms_them() -> None:
    for env in ("production", " production", ""):
        done = _run({"AICOSTS_FAILPOINT": "step-done", "AICOSTS_ENV": env})
        assert done.returncode == 0 and done.stdout.strip() == "survived", env
    done = _run({"AICOSTS_FAILPOINT": "step-done"})  # unset: not armed either
    assert done.returncode == 0 and done.stdout.strip() == "survived"


def test_armed_reads_the_environment_each_time(monkeypatch) -> None:
    monkeypatch.setenv("AICOSTS_ENV", "development")
    monkeypatch.setenv("AICOSTS_FAILPOINT", "a")
    assert failpoints.armed("a") and not failpoints.armed("b")
    monkeypatch.setenv("AICOSTS_FAILPOINT", "")
    assert not failpoints.armed("a")
