"""The wire format of every message: CloudEvents 1.0 in JSON. This module alone owns it.

Topics carry facts for services (`task-events`, `reminders`) and what clients must see
(`task-updates`, where `session.revoked` also tells `sync` to close the sockets of a log-in
that ended). The partition key of every message is its user id, so one user's
messages stay in order. `data` of task events holds the task after the change (before
it, for a deletion) as `task_data` writes it; `task.updated` adds the changed fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from taskstream.domain.tasks import Task
from taskstream.observability import trace

if TYPE_CHECKING:
    from collections.abc import Callable

    from taskstream.app.ports import Clock

SPEC_VERSION: Final = "1.0"
SCHEMA_VERSION: Final = 1


class Topic(StrEnum):
    TASK_EVENTS = "task-events"
    REMINDERS = "reminders"
    TASK_UPDATES = "task-updates"


class EventType(StrEnum):
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_COMPLETED = "task.completed"
    TASK_REOPENED = "task.reopened"
    TASK_DELETED = "task.deleted"
    REMINDER_DUE = "reminder.due"
    TASK_CHANGED = "task.changed"
    NOTIFICATION = "notification"
    SESSION_REVOKED = "session.revoked"

    @property
    def topic(self) -> Topic:
        return _TOPIC[self]


_TOPIC: Final = {
    EventType.TASK_CREATED: Topic.TASK_EVENTS,
    EventType.TASK_UPDATED: Topic.TASK_EVENTS,
    EventType.TASK_COMPLETED: Topic.TASK_EVENTS,
    EventType.TASK_REOPENED: Topic.TASK_EVENTS,
    EventType.TASK_DELETED: Topic.TASK_EVENTS,
    EventType.REMINDER_DUE: Topic.REMINDERS,
    EventType.TASK_CHANGED: Topic.TASK_UPDATES,
    EventType.NOTIFICATION: Topic.TASK_UPDATES,
    EventType.SESSION_REVOKED: Topic.TASK_UPDATES,
}


class MalformedEvent(ValueError):
    """A message that is not a CloudEvent of ours: retrying cannot help (DROP it)."""


def new_traceparent() -> str:
    """The W3C trace context of a new event: a new span of the trace in progress (the
    request or delivery that makes the event), or of a new trace when there is none."""
    return trace.child_traceparent()


@dataclass(frozen=True, slots=True)
class CloudEvent:
    id: str
    type: EventType
    source: str
    userid: str
    data: dict[str, Any]
    time: datetime
    subject: str | None = None
    traceparent: str = field(default_factory=new_traceparent)

    @property
    def topic(self) -> Topic:
        return self.type.topic

    @property
    def partition_key(self) -> str:
        return self.userid

    def to_dict(self) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type.value,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "dataschema": f"urn:taskstream:{self.type.value}:v{SCHEMA_VERSION}",
            "userid": self.userid,
            "traceparent": self.traceparent,
            "data": self.data,
        }
        if self.subject is not None:
            envelope["subject"] = self.subject
        return envelope

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, envelope: dict[str, Any]) -> CloudEvent:
        try:
            if envelope.get("specversion") != SPEC_VERSION:
                raise MalformedEvent(f"specversion {envelope.get('specversion')!r}")
            data = envelope["data"]
            if isinstance(data, str):  # some brokers hand JSON data over as a string
                data = json.loads(data)
            if not isinstance(data, dict):
                raise MalformedEvent("data is not an object")
            return cls(
                id=str(envelope["id"]),
                type=EventType(envelope["type"]),
                source=str(envelope["source"]),
                userid=str(envelope["userid"]),
                data=data,
                time=datetime.fromisoformat(str(envelope["time"])).astimezone(UTC),
                subject=envelope.get("subject"),
                traceparent=str(envelope.get("traceparent") or new_traceparent()),
            )
        except (KeyError, ValueError, TypeError) as exc:
            if isinstance(exc, MalformedEvent):
                raise
            raise MalformedEvent(str(exc)) from exc

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        try:
            envelope = json.loads(raw)
        except ValueError as exc:
            raise MalformedEvent(f"not JSON: {exc}") from exc
        if not isinstance(envelope, dict):
            raise MalformedEvent("not a JSON object")
        return cls.from_dict(envelope)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def task_data(task: Task) -> dict[str, Any]:
    """The task as every event and consumer sees it (JSON types only)."""
    due_at = task.due_at
    recurrence = task.recurrence
    return {
        "id": task.id,
        "owner_id": task.owner_id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "priority": task.priority.value,
        "tags": sorted(task.tags),
        "due_date": task.due.date.isoformat() if task.due else None,
        "due_time": task.due.time.isoformat("minutes") if task.due and task.due.time else None,
        "due_at": _iso(due_at),
        "timezone": task.timezone,
        "reminders": [
            {
                "at": _iso(r.at),
                "minutes_before": r.minutes_before,
                "remind_at": _iso(r.moment(due_at)),
            }
            for r in task.reminders
        ],
        "recurrence": (
            {"rule": recurrence.rule, "anchor": recurrence.anchor.value} if recurrence else None
        ),
        "series_id": task.series_id,
        "occurrence": task.occurrence,
        "created_at": _iso(task.created_at),
        "updated_at": _iso(task.updated_at),
        "completed_at": _iso(task.completed_at),
        "version": task.version,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


@dataclass(frozen=True, slots=True)
class EventFactory:
    """Makes the events of one service, with injected ids and clock."""

    source: str
    new_id: Callable[[], str]
    clock: Clock

    def make(
        self,
        type_: EventType,
        user_id: str,
        data: dict[str, Any],
        subject: str | None = None,
        traceparent: str | None = None,
    ) -> CloudEvent:
        return CloudEvent(
            id=self.new_id(),
            type=type_,
            source=self.source,
            userid=user_id,
            data=data,
            time=self.clock.now(),
            subject=subject,
            traceparent=traceparent or new_traceparent(),
        )

    def task_change(
        self, type_: EventType, task: Task, changes: dict[str, Any] | None = None
    ) -> list[CloudEvent]:
        """The fact for services and the update for clients, sharing one trace."""
        data = {"task": task_data(task)}
        if changes is not None:
            data["changes"] = {name: _jsonable(value) for name, value in changes.items()}
        trace = new_traceparent()
        fact = self.make(type_, task.owner_id, data, subject=task.id, traceparent=trace)
        update = self.make(
            EventType.TASK_CHANGED,
            task.owner_id,
            {"change": type_.value, "task_id": task.id, **data},
            subject=task.id,
            traceparent=trace,
        )
        return [fact, update]
