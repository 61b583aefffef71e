"""The REST API, one blueprint module per area; each also declares its OpenAPI paths."""

from gateway.api import ops

MODULES = (ops,)
