"""Domain errors that cross the gRPC boundary only as a status code and a safe message.

Each names its status as a gRPC status *name* (a plain string), so domain code stays free of
grpc; the server layer (svccommon.interceptors) turns the name into the call's status."""

from __future__ import annotations

from svccommon.standing import unverified_detail, unverified_metadata


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
    "plan-required" (the message names the plan that does; svccommon.plans.required_message),
    and with `plan` and `required_plan` when given (svccommon.plangate.require gives both)."""

    def __init__(self, message: str, plan: str = "", required_plan: str = "") -> None:
        super().__init__(message)
        named: tuple[tuple[str, str], ...] = (("x-plan", plan),) if plan else ()
        named += (("x-required-plan", required_plan),) if required_plan else ()
        self.metadata: tuple[tuple[str, str], ...] = (
            ("x-problem-status", "403"),
            ("x-problem-kind", "plan-required"),
            *named,
        )


class EmailUnverified(PermissionDenied):
    """The account has not confirmed its email address: the gateway answers 403 with kind
    "email-unverified" (svccommon.standing says what to do, the same way in every service)."""

    def __init__(self, action: str) -> None:
        super().__init__(unverified_detail(action))
        self.metadata: tuple[tuple[str, str], ...] = unverified_metadata()
