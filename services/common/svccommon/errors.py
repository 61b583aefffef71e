"""Domain errors that cross the gRPC boundary only as a status code and a safe message."""

from __future__ import annotations

import grpc

from svccommon.standing import unverified_detail, unverified_metadata


class ServiceError(Exception):
    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


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
        named = (("x-plan", plan),) if plan else ()
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
