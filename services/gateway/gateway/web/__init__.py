"""The web dashboard: a browser app served by the gateway on the API's own origin.

The pages are static files (HTML shell, ES modules, CSS) that call the same REST API as every
other client; the only server-side pieces here are the cookie session (sign-in puts the tokens
in HttpOnly cookies instead of the JSON body), CSRF checks for cookie-authenticated writes, and
serving the assets with long-lived cache headers. See docs/web.md."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    # Imported here: authn imports web.cookies, and session imports the API modules that use authn.
    from gateway.web import session, shell

    app.register_blueprint(shell.bp)
    app.register_blueprint(session.bp)
