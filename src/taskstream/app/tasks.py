"""Task use cases. Each takes the owner it acts for: no query ever crosses users."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from taskstream.app.events import EventFactory, EventType
from taskstream.app.ports import Clock, IdFactory, UnitOfWork, UnitOfWorkFactory
from taskstream.app.queries import Page, TagCount, TaskQuery
from taskstream.domain.errors import NotFound, PreconditionFailed, Problems
from taskstream.domain.tasks import (
    NewTask,
    Task,
    TaskChanges,
    clean_tag,
    create_task,
    normal_tag,
)


@dataclass(frozen=True, slots=True)
class RenamedTag:
    name: str
    """The tag's new name, as stored."""
    task_ids: list[str]
    """The tasks changed."""


@dataclass(frozen=True, slots=True)
class TaskService:
    """The task use cases, wired to their ports once by the composition root."""

    writer: UnitOfWorkFactory
    reader: UnitOfWorkFactory
    clock: Clock
    new_id: IdFactory
    default_timezone: str
    events: EventFactory

    async def create(self, owner_id: str, draft: NewTask, timezone: str | None = None) -> Task:
        if draft.timezone is None and timezone is not None:
            draft = replace(draft, timezone=timezone)
        task = create_task(
            draft,
            task_id=self.new_id(),
            owner_id=owner_id,
            default_timezone=self.default_timezone,
            now=self.clock.now(),
        )
        async with self.writer() as uow:
            await uow.tasks.add(task)
            await uow.outbox.add(self.events.task_change(EventType.TASK_CREATED, task))
            await uow.commit()
        return task

    async def get(self, owner_id: str, task_id: str) -> Task:
        async with self.reader() as uow:
            return _found(await uow.tasks.get(owner_id, task_id), task_id)

    async def find(self, owner_id: str, query: TaskQuery) -> Page:
        """The owner's tasks matching `query`; tags are matched as stored (trimmed, lower
        case) and blank search text searches nothing."""
        query = replace(
            query,
            tags_all=frozenset(normal_tag(t) for t in query.tags_all),
            tags_any=frozenset(normal_tag(t) for t in query.tags_any),
            search=query.search if query.search and query.search.strip() else None,
        )
        async with self.reader() as uow:
            return await uow.tasks.find(owner_id, query, self.clock.now())

    async def update(
        self, owner_id: str, task_id: str, changes: TaskChanges, if_version: int | None = None
    ) -> Task:
        async with self.writer() as uow:
            task = _found(await uow.tasks.get(owner_id, task_id), task_id)
            _check_version(task, if_version)
            changed = task.apply(changes, self.clock.now())
            if changed:
                await self._save(uow, task, EventType.TASK_UPDATED, changed)
            return task

    async def complete(self, owner_id: str, task_id: str, if_version: int | None = None) -> Task:
        async with self.writer() as uow:
            task = _found(await uow.tasks.get(owner_id, task_id), task_id)
            _check_version(task, if_version)
            if task.complete(self.clock.now()):
                await self._save(uow, task, EventType.TASK_COMPLETED)
            return task

    async def reopen(self, owner_id: str, task_id: str, if_version: int | None = None) -> Task:
        async with self.writer() as uow:
            task = _found(await uow.tasks.get(owner_id, task_id), task_id)
            _check_version(task, if_version)
            if task.reopen(self.clock.now()):
                await self._save(uow, task, EventType.TASK_REOPENED)
            return task

    async def delete(self, owner_id: str, task_id: str, if_version: int | None = None) -> None:
        async with self.writer() as uow:
            task = _found(await uow.tasks.get(owner_id, task_id), task_id)
            _check_version(task, if_version)
            await uow.tasks.delete(owner_id, task_id)
            await uow.outbox.add(self.events.task_change(EventType.TASK_DELETED, task))
            await uow.commit()

    async def tags(self, owner_id: str) -> list[TagCount]:
        async with self.reader() as uow:
            return await uow.tasks.tag_counts(owner_id)

    async def rename_tag(self, owner_id: str, old: str, new: str) -> RenamedTag:
        """Rename (or merge) a tag on every task of the owner."""
        problems = Problems()
        old_tag = clean_tag(old, problems, "tag")
        new_tag = clean_tag(new, problems, "name")
        problems.raise_if_any()
        async with self.writer() as uow:
            changed = await uow.tasks.rename_tag(owner_id, old_tag, new_tag, self.clock.now())
            if not changed:
                raise NotFound(f"You have no task tagged '{old_tag}'.", code="tag_not_found")
            for task in changed:
                await uow.outbox.add(
                    self.events.task_change(EventType.TASK_UPDATED, task, {"tags": task.tags})
                )
            await uow.commit()
            return RenamedTag(new_tag, [task.id for task in changed])

    async def create_next_occurrence(self, owner_id: str, task_id: str) -> Task | None:
        """The next task of a completed recurring task's series, created once.

        Idempotent: a redelivered completion, or a reopened and re-completed task, finds
        the successor that exists and creates nothing. None when there is nothing to create
        (the task is open again, no longer repeats, or its rule has ended).
        """
        async with self.writer() as uow:
            task = await uow.tasks.get(owner_id, task_id)
            if task is None or task.completed_at is None or task.series_id is None:
                return None
            successor = await uow.tasks.successor(owner_id, task.series_id, task.occurrence)
            if successor is not None:
                return successor
            # Bounded, but up to a few hundred milliseconds for a dense rule left undone
            # for long: computed beside the event loop, which keeps serving meanwhile.
            following = await asyncio.to_thread(
                task.next_occurrence, self.new_id(), self.clock.now()
            )
            if following is None:
                return None
            await uow.tasks.add(following)
            await uow.outbox.add(self.events.task_change(EventType.TASK_CREATED, following))
            await uow.commit()
            return following

    async def _save(
        self,
        uow: UnitOfWork,
        task: Task,
        kind: EventType,
        changes: dict[str, Any] | None = None,
    ) -> None:
        if not await uow.tasks.save(task, task.version):
            raise PreconditionFailed(
                "The task changed while this request ran; fetch it and try again."
            )
        await uow.outbox.add(self.events.task_change(kind, task, changes))
        await uow.commit()


def _found(task: Task | None, task_id: str) -> Task:
    if task is None:
        raise NotFound(f"There is no task {task_id}.", code="task_not_found")
    return task


def _check_version(task: Task, if_version: int | None) -> None:
    if if_version is not None and if_version != task.version:
        raise PreconditionFailed(
            f"The task is at version {task.version}, not {if_version}: "
            "fetch it again and re-apply your change."
        )
