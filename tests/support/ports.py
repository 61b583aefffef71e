"""Free loopback ports (shared with devstack's launcher)."""

from devstack.ports import free_ports

__all__ = ["free_ports"]
