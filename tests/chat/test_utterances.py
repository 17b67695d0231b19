"""Every utterance of the evaluation set gives exactly the plan a person means by it."""

from __future__ import annotations

import pytest

from taskstream.chat.offline import OfflinePlanner
from tests.chat.cases import CASES, Case


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=f"{case.say}@{case.context.timezone}", marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
async def test_utterance(case: Case) -> None:
    plan = await OfflinePlanner().plan(case.say, case.context)

    assert case.matches(plan), (case.expected(), plan)


def test_the_set_is_large_and_few_misses_are_known() -> None:
    assert len(CASES) >= 250
    assert sum(1 for case in CASES if case.xfail) / len(CASES) < 0.03
