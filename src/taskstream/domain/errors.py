"""Errors the domain and the use cases raise; entry points map them to responses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid field: where it is, a stable code and a message a person can act on."""

    field: str
    code: str
    message: str


class DomainError(Exception):
    """Base of every expected failure. `code` is stable; `message` is for people."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    code = "validation_failed"

    def __init__(self, problems: list[FieldProblem] | FieldProblem) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        first = self.problems[0]
        summary = first.message if len(self.problems) == 1 else "Some fields are invalid."
        super().__init__(summary)

    @classmethod
    def of(cls, field: str, code: str, message: str) -> ValidationFailed:
        return cls(FieldProblem(field, code, message))


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class PreconditionFailed(DomainError):
    code = "version_mismatch"


class Unauthorized(DomainError):
    code = "unauthorized"


@dataclass(slots=True)
class Problems:
    """Collects every field problem of one input, so a client sees them all at once."""

    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, field: str, code: str, message: str) -> None:
        self.problems.append(FieldProblem(field, code, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("An account with this e-mail address exists; log in instead.")
