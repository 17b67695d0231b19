"""Unit tests of the rule all user text obeys: no NUL character, refused with one code."""

from __future__ import annotations

import pytest

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.text import refuse_nul


@pytest.mark.parametrize("value", ["\x00", "buy\x00milk", "milk\x00"])
def test_text_holding_a_nul_character_is_refused_for_its_field(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        refuse_nul("message", value)
    [problem] = caught.value.problems
    assert (problem.field, problem.code) == ("message", "nul_character")
    assert caught.value.message == problem.message
    assert "NUL" in problem.message


@pytest.mark.parametrize("value", ["", "buy milk", "tab\there, line\nbreak, \u00e9, 0"])
def test_text_without_a_nul_character_passes(value: str) -> None:
    refuse_nul("message", value)
