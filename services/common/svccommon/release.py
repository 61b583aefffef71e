"""The release this code is: the installed distribution's version (shown by GetInfo and /openapi.json)."""

from __future__ import annotations

import importlib.metadata


def version() -> str:
    try:
        return importlib.metadata.version("aicosts")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"
