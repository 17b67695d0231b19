"""The expected plans of the evaluation set are ones the task API accepts.

Every expected call is validated by the chat tool's own argument model; every expected
`add_task` is also created by the domain (so its recurrence has a due, its reminders are
ahead of the case's clock, its rule is a valid RRULE), and every `update_task` and
`set_reminder` turned into the domain's change. A case that expects something the API
would refuse is a wrong case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from taskstream.chat.plan import TOOL_NAMES, ToolCall
from taskstream.chat.tools import parse_arguments
from taskstream.domain.tasks import create_task
from taskstream.entrypoints.api.schemas import ReminderIn, TaskCreate, TaskUpdate
from tests.chat.cases import CASES, Case

LIST_ARGUMENTS = {
    "status",
    "priority",
    "tags",
    "due_before",
    "due_after",
    "overdue",
    "text",
    "sort",
    "order",
    "limit",
}


def _check_call(call: ToolCall, case: Case) -> None:
    args: dict[str, Any] = dict(call.arguments)
    assert call.name in TOOL_NAMES
    parse_arguments(call.name, args)
    if call.name == "add_task":
        draft = TaskCreate.model_validate(args).to_domain()
        create_task(
            draft,
            task_id="t",
            owner_id="u",
            default_timezone=case.context.timezone,
            now=case.context.now,
        )
    elif call.name == "update_task":
        assert args.pop("task_id")
        TaskUpdate.model_validate(args).to_domain()
    elif call.name == "set_reminder":
        assert args.pop("task_id")
        ReminderIn.model_validate(args).to_domain()
    elif call.name in {"complete_task", "reopen_task", "delete_task"}:
        assert set(args) <= {"task_id"}
    elif call.name == "search_tasks":
        assert isinstance(args["query"], str)
        assert args["query"].strip()
    else:
        assert set(args) <= LIST_ARGUMENTS
        for name in ("due_before", "due_after"):
            if name in args:
                assert datetime.fromisoformat(args[name]).tzinfo is not None
        assert args.get("status") in {None, "open", "done"}
        assert set(args.get("priority", [])) <= {"none", "low", "medium", "high", "urgent"}


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=f"{case.say}@{case.context.timezone}") for case in CASES]
)
def test_expected_calls_are_valid_for_the_api(case: Case) -> None:
    for call in case.calls:
        _check_call(call, case)
    if case.for_each is not None:
        parse_arguments(case.for_each.name, {**case.for_each.arguments, "task_id": "t"})
        assert case.calls
        assert case.calls[-1].name in {"list_tasks", "search_tasks"}
        assert "task_id" not in case.for_each.arguments
