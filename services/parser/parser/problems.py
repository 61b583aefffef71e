"""Domain errors of the parser, with the HTTP status the user should see. The message of each is
shown to the user as is, so it must be clear and must never quote secrets or stack traces.
service.py maps them to gRPC status codes (plus trailing metadata for the gateway)."""

from __future__ import annotations

from svccommon.standing import UNVERIFIED_KIND


class ParserProblem(Exception):
    status = 422
    kind = "unprocessable-file"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooLarge(ParserProblem):
    status = 413
    kind = "file-too-large"


class UnsupportedType(ParserProblem):
    status = 415
    kind = "unsupported-media-type"


class Unreadable(ParserProblem):
    """Well-formed upload whose content cannot be turned into records (bad dates, bad numbers...)."""

    status = 422
    kind = "unprocessable-file"


class BadRequest(ParserProblem):
    status = 400
    kind = "validation"


class PlanRequired(ParserProblem):
    status = 403
    kind = "plan-required"


class EmailUnverified(ParserProblem):
    status = 403
    kind = UNVERIFIED_KIND


class AiNotConfigured(ParserProblem):
    status = 422
    kind = "ai-not-configured"


class AiUnavailable(ParserProblem):
    status = 503
    kind = "ai-unavailable"


class Busy(ParserProblem):
    """Every slot for this kind of work is taken right now; try again after `retry_after` s."""

    status = 503
    kind = "parser-busy"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceeded(ParserProblem):
    status = 429
    kind = "quota-exceeded"


class NotFound(ParserProblem):
    status = 404
    kind = "not-found"


class NotReady(ParserProblem):
    status = 422
    kind = "upload-not-ready"


class ImportFailed(ParserProblem):
    status = 503
    kind = "import-failed"


def row_problem(row: int, message: str) -> Unreadable:
    """An error tied to a line of the file (1-based, the header being line 1)."""
    return Unreadable(f"line {row}: {message}")
