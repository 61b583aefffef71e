"""The public gateway: REST + OpenAPI in front of the internal gRPC services."""

from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from svccommon import logs
from svccommon.config import load_or_exit
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import authn, backends, bodies, errors, healthcache, openapi, requestlog, web
from gateway.api import MODULES
from gateway.config import GatewayConfig, load


class InOrderJSON(DefaultJSONProvider):
    sort_keys = False  # answers keep the order the handlers give their fields


class GatewayFlask(Flask):
    json_provider_class = InOrderJSON


def create_app(cfg: GatewayConfig | None = None) -> Flask:
    cfg = cfg or load_or_exit(load)
    logs.configure("gateway", cfg.log_level)
    app = GatewayFlask(__name__)
    app.config.update(
        AICOSTS=cfg,
        MAX_CONTENT_LENGTH=cfg.max_body_bytes,
        MAX_FORM_PARTS=50,
        PROPAGATE_EXCEPTIONS=False,
    )
    if cfg.trusted_proxies:
        # Only when deployed behind named proxies is X-Forwarded-For believed.
        # Flask's documented way to add WSGI middleware; its types declare wsgi_app a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=cfg.trusted_proxies, x_proto=cfg.trusted_proxies
        )
    app.extensions["backends"] = backends.connect(cfg)
    app.extensions["health"] = healthcache.CachedHealth(app.extensions["backends"].health)
    app.extensions["openapi"] = openapi.build(MODULES, cfg.public_domain)
    authn.init_app(app)
    requestlog.register(app)
    bodies.register(app)  # after the request id is set, so a 413 carries it
    errors.register(app)
    for module in MODULES:
        app.register_blueprint(module.bp)
    web.register(app)
    return app
