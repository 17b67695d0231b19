"""Unit tests of the rules of a user's credentials: e-mail addresses and passwords."""

from __future__ import annotations

import pytest

from taskstream.domain.errors import Problems
from taskstream.domain.users import PASSWORD_MAX, PASSWORD_MIN, check_password, clean_email


def codes(problems: Problems) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in problems.problems]


def test_an_email_is_trimmed_and_lower_cased() -> None:
    problems = Problems()
    assert clean_email("  Ada@Example.COM ", problems) == "ada@example.com"
    assert problems.problems == []


@pytest.mark.parametrize(
    "email",
    ["", "ada", "ada@example", "@example.com", "ada@.com x", "a da@example.com", "ada@@x.com"],
)
def test_an_email_that_is_not_an_address_is_refused(email: str) -> None:
    problems = Problems()
    clean_email(email, problems)
    assert codes(problems) == [("email", "email_invalid")]
    assert problems.problems[0].message


def test_an_email_has_at_most_254_characters() -> None:
    longest = "a" * 242 + "@example.com"
    assert len(longest) == 254
    fine, too_long = Problems(), Problems()
    assert clean_email(longest, fine) == longest
    clean_email("a" + longest, too_long)
    assert codes(fine) == []
    assert codes(too_long) == [("email", "email_invalid")]


def test_a_password_has_from_min_to_max_characters() -> None:
    assert (PASSWORD_MIN, PASSWORD_MAX) == (8, 256)
    for fine in ("p" * PASSWORD_MIN, "p" * PASSWORD_MAX):
        problems = Problems()
        check_password(fine, problems)
        assert codes(problems) == []
    short, long_ = Problems(), Problems()
    check_password("p" * (PASSWORD_MIN - 1), short)
    check_password("p" * (PASSWORD_MAX + 1), long_)
    assert codes(short) == [("password", "password_too_short")]
    assert codes(long_) == [("password", "password_too_long")]
    assert str(PASSWORD_MIN) in short.problems[0].message
    assert str(PASSWORD_MAX) in long_.problems[0].message


def test_an_email_with_a_nul_character_is_refused() -> None:
    problems = Problems()
    clean_email("ada\x00@example.com", problems)
    assert codes(problems) == [("email", "email_invalid")]
