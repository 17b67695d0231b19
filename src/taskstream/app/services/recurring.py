"""The `recurring` service: when a repeating task is completed, the next one appears.

Only `api` writes tasks, so this service asks it to (`TaskCommands`: a direct call in the
embedded shape, Dapr service invocation in the distributed one). The use case is
idempotent on the series: a redelivered completion, or a task reopened and completed
again, finds the successor that exists and creates nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

from taskstream.app.events import CloudEvent, EventType, Topic, task_data
from taskstream.app.payloads import TaskFact
from taskstream.app.services import Handles
from taskstream.app.tasks import TaskService


class TaskCommands(Protocol):
    """The task writes this service asks `api` for."""

    async def create_next_occurrence(self, owner_id: str, task_id: str) -> dict[str, Any] | None:
        """The next task of the completed task's series (as `task_data`), created once;
        None when there is none to create."""
        ...


class InProcessTaskCommands:
    """`TaskCommands` as a direct call, for the embedded shape."""

    def __init__(self, tasks: TaskService) -> None:
        self._tasks = tasks

    async def create_next_occurrence(self, owner_id: str, task_id: str) -> dict[str, Any] | None:
        task = await self._tasks.create_next_occurrence(owner_id, task_id)
        return None if task is None else task_data(task)


class RecurringService:
    name = "recurring"

    def __init__(self, commands: TaskCommands) -> None:
        self._commands = commands

    def subscriptions(self) -> list[Handles]:
        return [
            Handles(
                f"{self.name}.{Topic.TASK_EVENTS}",
                Topic.TASK_EVENTS,
                frozenset({EventType.TASK_COMPLETED}),
                self.schedule_next_occurrence,
            )
        ]

    async def schedule_next_occurrence(self, event: CloudEvent) -> None:
        fact = TaskFact.of(event)
        if fact.repeats:
            await self._commands.create_next_occurrence(fact.owner_id, fact.task_id)
