"""Failpoints: crash this process at a named point between two steps of a workflow, so tests can
prove the second step still happens (exactly once) after a restart.

`AICOSTS_FAILPOINT=<name>[,<name>...]` arms them; `failpoint(name)` then ends the process at once
with exit code 137 (as SIGKILL would: no cleanup, no flush, no reply). Armed names are read from
the environment on every call, so a test's extra process is the only one affected. They arm only
where AICOSTS_ENV is explicitly "development" (an unset or any other value ignores the variable,
logged once): a stray setting must never be able to stop a production service."""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

ENV = "AICOSTS_FAILPOINT"
EXIT_CODE = 137
_warned = False


def armed(name: str) -> bool:
    global _warned
    names = {n.strip() for n in os.environ.get(ENV, "").split(",") if n.strip()}
    if not names:
        return False
    if os.environ.get("AICOSTS_ENV", "").strip() != "development":
        if not _warned:
            log.warning("failpoints are ignored outside development", extra={"failpoint_env": ENV})
            _warned = True
        return False
    return name in names


def failpoint(name: str) -> None:
    """Die here when `name` is armed; otherwise nothing."""
    if armed(name):
        print(f"failpoint {name}: exiting with {EXIT_CODE}", file=sys.stderr, flush=True)
        os._exit(EXIT_CODE)
