"""Debian's Chromium for Playwright (the browser tests and the web benchmark): where it is, and
the flags it needs here. No browser is ever downloaded; `make browser` installs the package."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Chromium in a container, as root, with a closed network: no sandbox, no GPU and no background
# fetches (each would wait on a connection that is refused).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """$CHROMIUM, else `chromium` on the PATH; None when neither exists."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None
