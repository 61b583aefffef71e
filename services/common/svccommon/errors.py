"""Domain errors that cross the gRPC boundary only as a status code and a safe message.

Each names its status as a gRPC status *name* (a plain string), so domain code stays free of
grpc; the server layer (svccommon.interceptors) turns the name into the call's status."""

from __future__ import annotations


class ServiceError(Exception):
    status = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    status = "INVALID_ARGUMENT"


class NotFound(ServiceError):
    status = "NOT_FOUND"


class AlreadyExists(ServiceError):
    status = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    status = "FAILED_PRECONDITION"


class PermissionDenied(ServiceError):
    status = "PERMISSION_DENIED"


class Unauthenticated(ServiceError):
    status = "UNAUTHENTICATED"


class ResourceExhausted(ServiceError):
    status = "RESOURCE_EXHAUSTED"


class Unavailable(ServiceError):
    status = "UNAVAILABLE"


class InvalidField(InvalidArgument):
    """A request field is wrong: the gateway answers 400 with errors[] naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.metadata: tuple[tuple[str, str], ...] = (("x-field", field),)


class PlanRequired(PermissionDenied):
    """The account's plan does not include the action: the gateway answers 403 with kind
    "plan-required" (the message names the plan that does; svccommon.plans.required_message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.metadata: tuple[tuple[str, str], ...] = (
            ("x-problem-status", "403"),
            ("x-problem-kind", "plan-required"),
        )
