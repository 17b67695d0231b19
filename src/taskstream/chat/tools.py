"""The assistant's tools: one definition of each, for the chat service, the planners and MCP.

Each tool has an argument model (validated with the same models and domain rules as the
REST routes: `add_task` takes what `POST /tasks` takes), calls the same `TaskService` use
case, acts for the calling user only, and returns a typed result. A tool never decides a
rule itself: a bad argument fails exactly as it fails over REST, as `ValidationFailed`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, Field, ValidationError, model_validator

from taskstream.app.ports import Clock, Principal
from taskstream.app.queries import Order, SortKey, TaskQuery
from taskstream.app.tasks import TaskService
from taskstream.domain.errors import FieldProblem, ValidationFailed
from taskstream.domain.tasks import REMINDER_BEFORE_MAX, Priority, Status, TaskChanges

# The REST request bodies are the tools' argument models too: one set of bounds.
from taskstream.entrypoints.api.schemas import ReminderIn, TaskCreate, TaskPublic, TaskUpdate

LIST_MAX: Final = 200

_TaskId = Field(min_length=1, max_length=36, description="The task's id.")


class AddTaskArgs(TaskCreate):
    """A new task; `due_time` is wall-clock time in the user's time zone."""


class ListTasksArgs(BaseModel):
    model_config = {"extra": "forbid"}

    status: Status | None = None
    priority: list[Priority] = Field(default_factory=list, max_length=5)
    tags: list[str] = Field(
        default_factory=list, max_length=20, description="Tasks with all of these tags."
    )
    due_before: AwareDatetime | None = Field(default=None, description="due_at < this")
    due_after: AwareDatetime | None = Field(default=None, description="due_at >= this")
    overdue: bool | None = None
    text: str | None = Field(default=None, max_length=200, description="Words in the task.")
    sort: SortKey = SortKey.DUE
    order: Order = Order.ASC
    limit: int = Field(default=20, ge=1, le=LIST_MAX)

    def to_query(self) -> TaskQuery:
        return TaskQuery(
            status=self.status,
            priorities=frozenset(self.priority),
            tags_all=frozenset(self.tags),
            due_before=self.due_before,
            due_after=self.due_after,
            overdue=self.overdue,
            search=self.text,
            sort=self.sort,
            order=self.order,
            limit=self.limit,
        )


class SearchTasksArgs(BaseModel):
    model_config = {"extra": "forbid"}

    query: str = Field(min_length=1, max_length=200, description="Words of the title.")
    limit: int = Field(default=20, ge=1, le=LIST_MAX)


class UpdateTaskArgs(TaskUpdate):
    """`task_id` and the fields to change; null clears an optional one."""

    task_id: str = _TaskId


class TaskRefArgs(BaseModel):
    model_config = {"extra": "forbid"}

    task_id: str = _TaskId


class SetReminderArgs(BaseModel):
    """Exactly one of `minutes_before` (the due moment) or `at` (a moment)."""

    model_config = {"extra": "forbid"}

    task_id: str = _TaskId
    minutes_before: int | None = Field(default=None, ge=0, le=REMINDER_BEFORE_MAX)
    at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SetReminderArgs:
        if (self.minutes_before is None) == (self.at is None):
            raise ValueError("give either minutes_before or at")
        return self

    def reminder(self) -> ReminderIn:
        return ReminderIn(at=self.at, minutes_before=self.minutes_before)


class TaskList(BaseModel):
    tasks: list[TaskPublic] = Field(description="In the order asked for.")
    more: bool = Field(description="True when more tasks match than were returned.")


class Deleted(BaseModel):
    task_id: str
    title: str
    deleted: bool = True


ToolResult = TaskPublic | TaskList | Deleted


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    arguments: type[BaseModel]
    result: type[BaseModel]
    changes_a_task: bool
    """True for a tool that changes one existing task, named by `task_id`."""


SPECS: Final = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "add_task",
            "Create a task. Dates are the user's local wall-clock date and time.",
            AddTaskArgs,
            TaskPublic,
            changes_a_task=False,
        ),
        ToolSpec(
            "list_tasks",
            "List the user's tasks, filtered and sorted.",
            ListTasksArgs,
            TaskList,
            changes_a_task=False,
        ),
        ToolSpec(
            "search_tasks",
            "Find the user's tasks by words of their title or description.",
            SearchTasksArgs,
            TaskList,
            changes_a_task=False,
        ),
        ToolSpec(
            "update_task",
            "Change fields of one task; null clears an optional field.",
            UpdateTaskArgs,
            TaskPublic,
            changes_a_task=True,
        ),
        ToolSpec(
            "complete_task", "Mark a task as done.", TaskRefArgs, TaskPublic, changes_a_task=True
        ),
        ToolSpec(
            "reopen_task", "Mark a done task as open.", TaskRefArgs, TaskPublic, changes_a_task=True
        ),
        ToolSpec(
            "delete_task", "Delete a task for good.", TaskRefArgs, Deleted, changes_a_task=True
        ),
        ToolSpec(
            "set_reminder",
            "Add a reminder to a task: minutes before its due moment, or at a moment.",
            SetReminderArgs,
            TaskPublic,
            changes_a_task=True,
        ),
    )
}


class UnknownTool(ValidationFailed):
    def __init__(self, name: str) -> None:
        super().__init__(FieldProblem("name", "tool_unknown", f"There is no tool '{name}'."))


def parse_arguments(name: str, arguments: Mapping[str, Any]) -> BaseModel:
    """The tool's validated arguments; ValidationFailed (one entry per field) otherwise."""
    spec = SPECS.get(name)
    if spec is None:
        raise UnknownTool(name)
    try:
        return spec.arguments.model_validate(dict(arguments))
    except ValidationError as exc:
        raise invalid(exc) from exc


def invalid(exc: ValidationError) -> ValidationFailed:
    return ValidationFailed(
        [
            FieldProblem(
                ".".join(str(part) for part in error["loc"]) or "arguments",
                error["type"],
                error["msg"],
            )
            for error in exc.errors()
        ]
    )


class Tools:
    """The tools, bound to the task use cases; every call acts for `caller` alone."""

    def __init__(self, tasks: TaskService, clock: Clock) -> None:
        self._tasks = tasks
        self._clock = clock
        self._run: dict[str, Callable[[Principal, Any], Awaitable[ToolResult]]] = {
            "add_task": self.add_task,
            "list_tasks": self.list_tasks,
            "search_tasks": self.search_tasks,
            "update_task": self.update_task,
            "complete_task": self.complete_task,
            "reopen_task": self.reopen_task,
            "delete_task": self.delete_task,
            "set_reminder": self.set_reminder,
        }

    async def call(self, caller: Principal, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Validate `arguments` for tool `name` and run it; raises DomainError on refusal."""
        return await self._run[name](caller, parse_arguments(name, arguments))

    def _public(self, task: Any) -> TaskPublic:
        return TaskPublic.of(task, self._clock.now())

    async def add_task(self, caller: Principal, args: AddTaskArgs) -> TaskPublic:
        task = await self._tasks.create(caller.user_id, args.to_domain(), caller.timezone)
        return self._public(task)

    async def list_tasks(self, caller: Principal, args: ListTasksArgs) -> TaskList:
        query = args.to_query()
        page = await self._tasks.find(caller.user_id, query)
        return TaskList(
            tasks=[self._public(task) for task in page.tasks], more=page.next_after is not None
        )

    async def search_tasks(self, caller: Principal, args: SearchTasksArgs) -> TaskList:
        return await self.list_tasks(caller, ListTasksArgs(text=args.query, limit=args.limit))

    async def update_task(self, caller: Principal, args: UpdateTaskArgs) -> TaskPublic:
        task = await self._tasks.update(caller.user_id, args.task_id, args.to_domain())
        return self._public(task)

    async def complete_task(self, caller: Principal, args: TaskRefArgs) -> TaskPublic:
        return self._public(await self._tasks.complete(caller.user_id, args.task_id))

    async def reopen_task(self, caller: Principal, args: TaskRefArgs) -> TaskPublic:
        return self._public(await self._tasks.reopen(caller.user_id, args.task_id))

    async def delete_task(self, caller: Principal, args: TaskRefArgs) -> Deleted:
        task = await self._tasks.get(caller.user_id, args.task_id)
        await self._tasks.delete(caller.user_id, args.task_id, task.version)
        return Deleted(task_id=task.id, title=task.title)

    async def set_reminder(self, caller: Principal, args: SetReminderArgs) -> TaskPublic:
        task = await self._tasks.get(caller.user_id, args.task_id)
        reminders = (*task.reminders, args.reminder().to_domain())
        changed = await self._tasks.update(
            caller.user_id, task.id, TaskChanges(reminders=reminders), task.version
        )
        return self._public(changed)
