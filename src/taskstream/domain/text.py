"""A rule all text a user gives obeys, whatever it names: no NUL character.

PostgreSQL cannot store NUL in text, so it is refused everywhere, in every shape, with
one stable code rather than left to one database to fail on.
"""

from __future__ import annotations

from typing import Final

from taskstream.domain.errors import FieldProblem, ValidationFailed

NUL: Final = "\x00"


def nul_problem(field: str) -> FieldProblem:
    return FieldProblem(field, "nul_character", "Text may not contain NUL characters (U+0000).")


def refuse_nul(field: str, value: str) -> None:
    """Refuse `value` when it holds a NUL character."""
    if NUL in value:
        raise ValidationFailed(nul_problem(field))
