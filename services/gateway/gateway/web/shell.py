"""The app's HTML shell and its static assets.

Every app path answers with the same small HTML shell; the router in js/app.js draws the page.
Assets live under /assets/<version>/ where the version is a hash of all of them, so they are
cached for a year and a new release is a new URL (docs/web.md)."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, request

from gateway.problems import Problem

bp = Blueprint("web_shell", __name__)

STATIC_DIR = Path(__file__).parent / "static"
APP_PATHS = (
    "/",
    "/signin",
    "/signup",
    "/check-email",
    "/forgot-password",
    "/breakdown",
    "/keys",
    "/uploads",
    "/audit",
    "/alerts",
    "/settings",
)
# Scripts, styles and connections to this origin only; images may be data: URIs (the 2FA QR code).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    mimetype: str
    etag: str


def _load_assets() -> dict[str, Asset]:
    assets = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and path.name != "index.html":
            name = path.relative_to(STATIC_DIR).as_posix()
            body = path.read_bytes()
            mimetype = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
            assets[name] = Asset(body, mimetype, hashlib.sha256(body).hexdigest()[:16])
    return assets


ASSETS = _load_assets()
VERSION = hashlib.sha256("".join(f"{n}:{a.etag}" for n, a in ASSETS.items()).encode()).hexdigest()[:12]
ASSET_ROOT = f"/assets/{VERSION}"
SHELL = (STATIC_DIR / "index.html").read_text().replace("{{ASSETS}}", ASSET_ROOT).encode()


def html_response(body: bytes | str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _shell() -> Response:
    # no-store (the default header): a signed-out browser's back button refetches, and the shell
    # then asks the API, which answers 401.
    return html_response(SHELL)


for _path in APP_PATHS:
    bp.add_url_rule(_path, f"app{_path.replace('/', '_') or '_root'}", _shell, methods=["GET"])


@bp.get("/assets/<version>/<path:name>")
def asset(version: str, name: str):
    found = ASSETS.get(name)
    if found is None:
        raise Problem(404, "no such asset", kind="not-found")
    response = Response(found.body, mimetype=found.mimetype)
    response.set_etag(found.etag)
    if version == VERSION:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:  # a page from before a deploy: serve the current file, but do not pin it
        response.headers["Cache-Control"] = "no-cache"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response.make_conditional(request)
