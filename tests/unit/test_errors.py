"""Unit tests of the errors the domain raises: stable codes, and every problem kept."""

from __future__ import annotations

import pytest

from taskstream.domain.errors import (
    Conflict,
    DomainError,
    EmailTaken,
    FieldProblem,
    NotFound,
    PreconditionFailed,
    Problems,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)


def test_one_problem_is_its_own_summary() -> None:
    error = ValidationFailed.of("title", "title_blank", "A title is required.")
    assert error.problems == [FieldProblem("title", "title_blank", "A title is required.")]
    assert error.message == "A title is required."
    assert str(error) == "A title is required."
    assert error.code == "validation_failed"


def test_several_problems_are_summed_up_and_all_kept() -> None:
    first = FieldProblem("title", "title_blank", "A title is required.")
    second = FieldProblem("tags", "tag_invalid", "No spaces.")
    error = ValidationFailed([first, second])
    assert error.problems == [first, second]
    assert error.message == "Some fields are invalid."


def test_problems_raise_only_when_there_are_some() -> None:
    problems = Problems()
    problems.raise_if_any()
    problems.add("title", "title_blank", "A title is required.")
    problems.add("tags", "tag_invalid", "No spaces.")
    with pytest.raises(ValidationFailed) as caught:
        problems.raise_if_any()
    assert [(p.field, p.code, p.message) for p in caught.value.problems] == [
        ("title", "title_blank", "A title is required."),
        ("tags", "tag_invalid", "No spaces."),
    ]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (DomainError("x"), "domain_error"),
        (NotFound("x"), "not_found"),
        (Conflict("x"), "conflict"),
        (PreconditionFailed("x"), "version_mismatch"),
        (Unauthorized("x"), "unauthorized"),
        (RateLimited("x", 30), "rate_limited"),
        (EmailTaken(), "email_taken"),
    ],
)
def test_each_error_has_a_stable_code(error: DomainError, code: str) -> None:
    assert error.code == code


def test_a_code_may_be_given_per_error() -> None:
    error = NotFound("No such task.", code="task_not_found")
    assert (error.code, error.message, str(error)) == (
        "task_not_found",
        "No such task.",
        "No such task.",
    )
    assert NotFound("x").code == "not_found"


def test_rate_limited_says_when_to_retry() -> None:
    error = RateLimited("Too many attempts.", 42)
    assert (error.message, error.retry_after_seconds) == ("Too many attempts.", 42)


def test_email_taken_is_a_conflict_that_says_what_to_do() -> None:
    error = EmailTaken()
    assert isinstance(error, Conflict)
    assert "log in" in error.message
