"""Gunicorn settings for the gateway, from the same environment variables as the app.

TLS: with GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE set, gunicorn terminates TLS itself,
TLS 1.2 minimum. Without them, plain HTTP is allowed only on a loopback address."""

import os
import ssl
import sys

from gateway.config import is_loopback

_host = os.environ.get("GATEWAY_HOST", "127.0.0.1")
_port = os.environ.get("GATEWAY_PORT", "8080")
_cert = os.environ.get("GATEWAY_TLS_CERT_FILE", "")
_key = os.environ.get("GATEWAY_TLS_KEY_FILE", "")

if not (_cert and _key) and not is_loopback(_host):
    sys.exit(
        f"configuration error: GATEWAY_HOST={_host} is not a loopback address, so the gateway must serve "
        "HTTPS: set GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE"
    )

bind = f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
# An idle keep-alive connection stays open longer than ingress-nginx keeps its upstream ones (60 s)
# and than a user thinks between clicks: with gunicorn's 2 s, a request sent just as the gateway
# closed the connection failed (seen under load). gthread parks idle connections in its poller,
# not in a thread, so this costs a socket, not a worker.
keepalive = int(os.environ.get("GATEWAY_KEEPALIVE_SECONDS", "75"))
timeout = 60
graceful_timeout = 10
accesslog = None  # the app writes one structured access line per request itself
errorlog = "-"
loglevel = "warning"
forwarded_allow_ips = os.environ.get("GATEWAY_FORWARDED_ALLOW_IPS", "127.0.0.1")

if _cert and _key:
    certfile = _cert
    keyfile = _key

    def ssl_context(conf, default_ssl_context_factory):
        context = default_ssl_context_factory()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context
