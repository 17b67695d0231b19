"""Typed payloads of the events consumers read: each parsed once, at the boundary.

A consumer never reads `event.data[...]` itself: it asks for the payload of the event, and
an event that does not carry one is dropped (`Drop`), since no retry can mend it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskstream.app.events import CloudEvent, EventType
from taskstream.app.ports import Drop


@dataclass(frozen=True, slots=True)
class TaskFact:
    """The data of a fact on `task-events`: the task after the change (before it, for a
    deletion), as `task_data` wrote it, and the names of the fields an update changed.
    Moments stay the ISO strings the event carries."""

    type: EventType
    task_id: str
    owner_id: str
    title: str
    status: str
    version: int | None
    due_at: str | None
    remind_at: tuple[str, ...]
    """The moments of the task's reminders that have one (past or future)."""
    repeats: bool
    changed: frozenset[str]

    @property
    def open(self) -> bool:
        return self.status == "open"

    @classmethod
    def of(cls, event: CloudEvent) -> TaskFact:
        task = event.data.get("task")
        if not isinstance(task, dict) or not isinstance(task.get("id"), str):
            raise Drop(f"{event.type} event {event.id} carries no task")
        owner_id = task.get("owner_id", event.userid)
        if owner_id != event.userid:
            raise Drop(f"{event.type} event {event.id} is for {owner_id}, sent as {event.userid}")
        version = task.get("version")
        due_at = task.get("due_at")
        changes = event.data.get("changes")
        return cls(
            type=event.type,
            task_id=task["id"],
            owner_id=event.userid,
            title=str(task.get("title") or ""),
            status=str(task.get("status") or ""),
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            due_at=due_at if isinstance(due_at, str) else None,
            remind_at=_reminder_moments(task.get("reminders")),
            repeats=bool(task.get("recurrence")),
            changed=frozenset(changes) if isinstance(changes, dict | list) else frozenset(),
        )


def _reminder_moments(reminders: Any) -> tuple[str, ...]:
    if not isinstance(reminders, list):
        return ()
    moments = (r.get("remind_at") for r in reminders if isinstance(r, dict))
    return tuple(m for m in moments if isinstance(m, str))
