"""SQL repositories (SQLAlchemy Core) for tasks, users and refresh tokens."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from taskstream.adapters.db import search
from taskstream.adapters.db.tables import refresh_tokens, task_tags, tasks, users
from taskstream.app.ports import RefreshToken
from taskstream.app.queries import Order, Page, SortKey, TagCount, TaskQuery
from taskstream.domain.errors import EmailTaken, ValidationFailed
from taskstream.domain.recurrence import Recurrence, RecurrenceAnchor
from taskstream.domain.tasks import Due, Priority, Reminder, Status, Task
from taskstream.domain.users import User


def _task_values(task: Task) -> dict[str, Any]:
    recurrence = task.recurrence
    return {
        "id": task.id,
        "owner_id": task.owner_id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "priority": task.priority.rank,
        "tags": sorted(task.tags),
        "due_date": task.due.date if task.due else None,
        "due_time": task.due.time if task.due else None,
        "due_at": task.due_at,
        "timezone": task.timezone,
        "reminders": [
            {
                "at": r.at.isoformat() if r.at else None,
                "minutes_before": r.minutes_before,
            }
            for r in task.reminders
        ],
        "recurrence_rule": recurrence.rule if recurrence else None,
        "recurrence_anchor": recurrence.anchor.value if recurrence else None,
        "recurrence_start": recurrence.start if recurrence else None,
        "series_id": task.series_id,
        "occurrence": task.occurrence,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "completed_at": task.completed_at,
        "version": task.version,
    }


_READ_COLUMNS = [
    tasks.c[name]
    for name in (
        "id",
        "owner_id",
        "title",
        "description",
        "status",
        "priority",
        "tags",
        "due_date",
        "due_time",
        "timezone",
        "reminders",
        "recurrence_rule",
        "recurrence_anchor",
        "recurrence_start",
        "series_id",
        "occurrence",
        "created_at",
        "updated_at",
        "completed_at",
        "version",
    )
]
"""What a task is made from, in `_task_from_row`'s order (due_at follows from the due)."""


def _task_from_row(row: Any) -> Task:
    (
        task_id,
        owner_id,
        title,
        description,
        status,
        priority,
        tags,
        due_date,
        due_time,
        timezone,
        reminders,
        recurrence_rule,
        recurrence_anchor,
        recurrence_start,
        series_id,
        occurrence,
        created_at,
        updated_at,
        completed_at,
        version,
    ) = row[: len(_READ_COLUMNS)]
    recurrence = None
    if recurrence_rule is not None:
        recurrence = Recurrence(
            recurrence_rule, RecurrenceAnchor(recurrence_anchor), recurrence_start
        )
    return Task(
        id=task_id,
        owner_id=owner_id,
        title=title,
        description=description,
        status=Status(status),
        priority=Priority.from_rank(priority),
        tags=frozenset(tags),
        due=None if due_date is None else Due(due_date, due_time),
        timezone=timezone,
        reminders=tuple(
            Reminder(
                at=datetime.fromisoformat(r["at"]) if r["at"] else None,
                minutes_before=r["minutes_before"],
            )
            for r in reminders
        ),
        recurrence=recurrence,
        series_id=series_id,
        occurrence=occurrence,
        created_at=created_at,
        updated_at=updated_at,
        completed_at=completed_at,
        version=version,
    )


class SqlTaskRepository:
    """Tasks of one unit of work.

    A task read here remembers the values it was stored with, so `save` writes only the
    columns that changed, and the tag rows only when the tags did: a new title is one
    short UPDATE, not every column and every tag row again.
    """

    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self._conn = conn
        self._dialect = dialect
        self._stored: dict[str, dict[str, Any]] = {}

    def _loaded(self, row: Any) -> Task:
        task = _task_from_row(row)
        self._stored[task.id] = _task_values(task)
        return task

    async def add(self, task: Task) -> None:
        result = await self._conn.execute(
            insert(tasks).values(_task_values(task)).returning(tasks.c.seq)
        )
        await self._add_tags(result.scalar_one(), task.owner_id, task.tags)

    async def get(self, owner_id: str, task_id: str) -> Task | None:
        row = (
            await self._conn.execute(
                select(*_READ_COLUMNS).where(tasks.c.id == task_id, tasks.c.owner_id == owner_id)
            )
        ).first()
        return None if row is None else self._loaded(row)

    async def save(self, task: Task, expected_version: int) -> bool:
        values = _task_values(task)
        values["version"] = expected_version + 1
        stored = self._stored.get(task.id)
        changed = (
            values if stored is None else {k: v for k, v in values.items() if stored.get(k) != v}
        )
        result = await self._conn.execute(
            update(tasks)
            .where(
                tasks.c.id == task.id,
                tasks.c.owner_id == task.owner_id,
                tasks.c.version == expected_version,
            )
            .values(changed)
            .returning(tasks.c.seq)
        )
        seq = result.scalar_one_or_none()
        if seq is None:
            return False
        task.version = expected_version + 1
        self._stored[task.id] = values
        if "tags" in changed:
            before = frozenset(stored["tags"]) if stored is not None else None
            if before is None:
                await self._conn.execute(delete(task_tags).where(task_tags.c.task_seq == seq))
            elif gone := before - task.tags:
                await self._conn.execute(
                    delete(task_tags).where(
                        task_tags.c.task_seq == seq, task_tags.c.tag.in_(sorted(gone))
                    )
                )
            await self._add_tags(seq, task.owner_id, task.tags - (before or frozenset()))
        return True

    async def _add_tags(self, seq: int, owner_id: str, tags: frozenset[str]) -> None:
        if tags:
            await self._conn.execute(
                insert(task_tags),
                [{"task_seq": seq, "tag": tag, "owner_id": owner_id} for tag in sorted(tags)],
            )

    async def delete(self, owner_id: str, task_id: str) -> bool:
        result = await self._conn.execute(
            delete(tasks)
            .where(tasks.c.id == task_id, tasks.c.owner_id == owner_id)
            .returning(tasks.c.seq)
        )
        return result.first() is not None

    async def find(self, owner_id: str, query: TaskQuery, now: datetime) -> Page:
        keys, labelled, order_by = _ordering(query.sort, query.order)
        stmt = (
            select(*_READ_COLUMNS, *labelled)
            .where(tasks.c.owner_id == owner_id, *self._filters(owner_id, query, now))
            .order_by(*order_by)
            .limit(query.limit + 1)
        )
        if query.after is not None:
            stmt = stmt.where(_after(keys, list(query.after)))
        rows = (await self._conn.execute(stmt)).all()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_after = None
        if more and rows:
            last = rows[-1]
            next_after = tuple(getattr(last, f"k{i}") for i in range(len(keys)))
        return Page([_task_from_row(row) for row in rows], next_after)

    def _filters(self, owner_id: str, query: TaskQuery, now: datetime) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if query.status is not None:
            where.append(tasks.c.status == query.status.value)
        if query.priorities:
            where.append(tasks.c.priority.in_(sorted(p.rank for p in query.priorities)))
        for tag in sorted(query.tags_all):
            where.append(
                exists().where(task_tags.c.task_seq == tasks.c.seq, task_tags.c.tag == tag)
            )
        if query.tags_any:
            where.append(
                exists().where(
                    task_tags.c.task_seq == tasks.c.seq, task_tags.c.tag.in_(sorted(query.tags_any))
                )
            )
        if query.due_before is not None:
            where.append(tasks.c.due_at < query.due_before)
        if query.due_after is not None:
            where.append(tasks.c.due_at >= query.due_after)
        if query.overdue is not None:
            overdue = and_(tasks.c.status == Status.OPEN.value, tasks.c.due_at <= now)
            where.append(overdue if query.overdue else ~overdue)
        if query.no_due is not None:
            where.append(tasks.c.due_at.is_(None) if query.no_due else tasks.c.due_at.is_not(None))
        if query.series_id is not None:
            where.append(tasks.c.series_id == query.series_id)
        if query.search is not None:
            where.append(self._search(owner_id, query.search))
        return where

    def _search(self, owner_id: str, phrase: str) -> ColumnElement[bool]:
        query_words = search.words(phrase)
        if not query_words:
            raise ValidationFailed.of(
                "q", "search_invalid", "Search for at least one word of letters or digits."
            )
        if self._dialect == "sqlite":
            match = search.sqlite_match(owner_id, query_words)
            return tasks.c.seq.in_(
                select(literal_column("rowid"))
                .select_from(text("tasks_fts"))
                .where(text("tasks_fts MATCH :match").bindparams(match=match))
            )
        query = func.taskstream_search_query(owner_id, " ".join(query_words), search.MIN_PREFIX)
        return literal_column("tasks.search").op("@@")(query)

    async def tag_counts(self, owner_id: str) -> list[TagCount]:
        rows = await self._conn.execute(
            select(task_tags.c.tag, func.count())
            .where(task_tags.c.owner_id == owner_id)
            .group_by(task_tags.c.tag)
            .order_by(task_tags.c.tag)
        )
        return [TagCount(tag, count) for tag, count in rows]

    async def successor(self, owner_id: str, series_id: str, occurrence: int) -> Task | None:
        row = (
            await self._conn.execute(
                select(*_READ_COLUMNS)
                .where(
                    tasks.c.owner_id == owner_id,
                    tasks.c.series_id == series_id,
                    tasks.c.occurrence > occurrence,
                )
                .order_by(tasks.c.occurrence)
                .limit(1)
            )
        ).first()
        return None if row is None else _task_from_row(row)

    async def rename_tag(self, owner_id: str, old: str, new: str, now: datetime) -> list[Task]:
        rows = (
            await self._conn.execute(
                select(*_READ_COLUMNS)
                .join(task_tags, task_tags.c.task_seq == tasks.c.seq)
                .where(task_tags.c.owner_id == owner_id, task_tags.c.tag == old)
            )
        ).all()
        changed = []
        for row in rows:
            task = self._loaded(row)
            task.tags = (task.tags - {old}) | {new}
            task.touch(now)
            await self.save(task, task.version)
            changed.append(task)
        return changed


# --- keyset pagination -------------------------------------------------------------------


_SortKeys = list[tuple[ColumnElement[Any], bool]]


@functools.cache
def _ordering(
    sort: SortKey, order: Order
) -> tuple[_SortKeys, list[ColumnElement[Any]], list[ColumnElement[Any]]]:
    """The sort keys of a listing, their labelled columns (k0, k1, ...) and its ORDER BY,
    built once per sort and order: SQL expressions are immutable, so pages share them."""
    keys = _sort_keys(sort, order is Order.DESC)
    labelled: list[ColumnElement[Any]] = [expr.label(f"k{i}") for i, (expr, _) in enumerate(keys)]
    order_by: list[ColumnElement[Any]] = [
        expr.desc() if desc else expr.asc() for expr, desc in keys
    ]
    return keys, labelled, order_by


def _sort_keys(sort: SortKey, desc: bool) -> _SortKeys:
    """(expression, descending) pairs; the last one, the row's seq, makes the order total."""
    keys: _SortKeys
    match sort:
        case SortKey.DUE:
            # Tasks without a due date come last in either direction.
            no_due = case((tasks.c.due_at.is_(None), 1), else_=0)
            keys = [(no_due, False), (tasks.c.due_at, desc)]
        case SortKey.PRIORITY:
            keys = [(tasks.c.priority, desc)]
        case SortKey.CREATED:
            keys = [(tasks.c.created_at, desc)]
        case SortKey.UPDATED:
            keys = [(tasks.c.updated_at, desc)]
        case SortKey.TITLE:
            keys = [(func.lower(tasks.c.title), desc)]
    return [*keys, (tasks.c.seq, desc)]


def _after(keys: list[tuple[ColumnElement[Any], bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys`; a NULL value equals only NULL."""
    clause: ColumnElement[bool] = false()
    for (expr, desc), value in reversed(list(zip(keys, values, strict=True))):
        if value is None:
            same, beyond = expr.is_(None), false()
        else:
            same, beyond = expr == value, (expr < value if desc else expr > value)
        clause = or_(beyond, and_(same, clause))
    return clause


# --- users and tokens ----------------------------------------------------------------------


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        try:
            await self._conn.execute(
                insert(users).values(
                    id=user.id,
                    email=user.email,
                    password_hash=user.password_hash,
                    timezone=user.timezone,
                    created_at=user.created_at,
                )
            )
        except IntegrityError as exc:  # a concurrent sign-up won the race
            raise EmailTaken() from exc

    async def by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email))).first()
        return None if row is None else User(**row._mapping)

    async def by_id(self, user_id: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return None if row is None else User(**row._mapping)


class SqlRefreshTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, token: RefreshToken) -> None:
        await self._conn.execute(
            insert(refresh_tokens).values(
                token_hash=token.token_hash,
                user_id=token.user_id,
                family=token.family,
                expires_at=token.expires_at,
                revoked_at=token.revoked_at,
            )
        )

    async def get(self, token_hash: str) -> RefreshToken | None:
        row = (
            await self._conn.execute(
                select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
            )
        ).first()
        return None if row is None else RefreshToken(**row._mapping)

    async def revoke(self, token_hash: str, now: datetime) -> bool:
        result = await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(refresh_tokens.c.token_hash)
        )
        return result.first() is not None

    async def revoke_family(self, family: str, now: datetime) -> None:
        await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family == family, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
