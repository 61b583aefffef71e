"""The REST API, one blueprint module per area; each also declares its OpenAPI paths."""

from gateway.api import accounts, credentials, me, ops, pages, platforms, uploads, usage

MODULES = (ops, platforms, credentials, accounts, me, usage, uploads, pages)
