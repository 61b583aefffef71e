"""The tests start stacks with devstack's launcher, the same code path as `make run`."""

from devstack.launcher import READY_TIMEOUT_S, Stack, make_stack

__all__ = ["READY_TIMEOUT_S", "Stack", "make_stack"]
