"""What a planner decides for one message, and what it is told to decide it.

A planner turns a user's message into a `Plan`: tool calls to make, a question to
ask back, or a plain reply. It never acts itself; the chat service runs the calls
(for the calling user only) and writes the answer. Both planners (offline and LLM)
produce this same type, so the chat service does not know which one answered.

Tool arguments are JSON-ready dicts, exactly as the tool's argument model accepts
them (see `chat/tools.py`):

- `add_task`: `title`, and optionally `description`, `priority` (none, low, medium,
  high, urgent), `tags` (list), `due_date` ("YYYY-MM-DD"), `due_time` ("HH:MM",
  wall clock in the user's time zone), `reminders` (list of `{"minutes_before": N}`
  or `{"at": ISO 8601 with offset}`), `recurrence` (`{"rule": RRULE, "anchor": "due"
  | "completion"}`).
- `list_tasks`: optionally `status` (open, done), `priority` (list), `tags` (list,
  all of them), `due_before` / `due_after` (ISO 8601 with offset), `overdue` (bool),
  `text`, `sort` (due, priority, created, updated, title), `order` (asc, desc),
  `limit`.
- `search_tasks`: `query`, optionally `limit`.
- `update_task`: `task_id` and any field of `add_task` (null clears an optional
  one).
- `complete_task`, `reopen_task`, `delete_task`: `task_id`.
- `set_reminder`: `task_id` and `minutes_before` or `at`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

TOOL_NAMES = (
    "add_task",
    "list_tasks",
    "search_tasks",
    "update_task",
    "complete_task",
    "reopen_task",
    "delete_task",
    "set_reminder",
)


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KnownTask:
    """A task the conversation can refer to: by number, ordinal or title words."""

    id: str
    title: str
    done: bool = False


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a planner may know besides the message. `now` is timezone-aware."""

    now: datetime
    timezone: str
    # The last listing shown in this conversation, in the order shown (number 1 first).
    listed: tuple[KnownTask, ...] = ()
    # The user's tasks (open first), for references by words of a title.
    tasks: tuple[KnownTask, ...] = ()
    # True when the assistant's last message asked the user to confirm an action.
    awaiting_confirmation: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """One of: calls to make, a question to ask, a reply, or an answer to a confirmation.

    `for_each` is a call without `task_id`, applied to every task that the plan's last
    `list_tasks` or `search_tasks` call found ("move all my morning meetings to 2 PM").
    The chat service asks for confirmation before a delete or before a change to more
    than one task; `confirmed` is the user's answer (True yes, False no) when
    `PlanContext.awaiting_confirmation` was set, else None.
    """

    calls: tuple[ToolCall, ...] = ()
    for_each: ToolCall | None = None
    question: str | None = None
    reply: str | None = None
    confirmed: bool | None = None


class Planner(Protocol):
    async def plan(self, message: str, context: PlanContext) -> Plan:
        """The plan for `message`; never raises for what a user types."""
        ...
