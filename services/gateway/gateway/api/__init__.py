"""The REST API, one blueprint module per area; each also declares its OpenAPI paths."""

from gateway.api import (
    accounts,
    alerts,
    audit,
    billing,
    credentials,
    me,
    ops,
    pages,
    platforms,
    sessions,
    uploads,
    usage,
)

MODULES = (
    ops,
    platforms,
    credentials,
    accounts,
    me,
    sessions,
    usage,
    alerts,
    uploads,
    pages,
    audit,
    billing,
)
