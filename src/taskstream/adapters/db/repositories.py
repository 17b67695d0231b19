"""SQL repositories (SQLAlchemy Core) for tasks, users and refresh tokens."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
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
from taskstream.adapters.db.tables import NO_DUE, refresh_tokens, task_tags, tasks, users
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

# The statements of the write path, built once: building one costs more than running it.
# An UPDATE sets the columns named in its parameters (SQLAlchemy compiles, and caches, one
# form per set of columns); `w_*` parameters belong to the WHERE clause.
_INSERT_TASK = insert(tasks).returning(tasks.c.seq)
_INSERT_TAGS = insert(task_tags)
_GET_TASK = select(*_READ_COLUMNS).where(
    tasks.c.id == bindparam("w_id"), tasks.c.owner_id == bindparam("w_owner_id")
)
_UPDATE_TASK = (
    update(tasks)
    .where(
        tasks.c.id == bindparam("w_id"),
        tasks.c.owner_id == bindparam("w_owner_id"),
        tasks.c.version == bindparam("w_version"),
    )
    .returning(tasks.c.seq)
)


_STATUSES: Final = {status.value: status for status in Status}
"""A status by its stored value: a dictionary look-up, where calling the enum costs a
microsecond for every row read."""


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
        status=_STATUSES[status],
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
        )
        if reminders
        else (),
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
        result = await self._conn.execute(_INSERT_TASK, _task_values(task))
        await self._add_tags(result.scalar_one(), task.owner_id, task.tags)

    async def get(self, owner_id: str, task_id: str) -> Task | None:
        row = (
            await self._conn.execute(_GET_TASK, {"w_id": task_id, "w_owner_id": owner_id})
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
            _UPDATE_TASK,
            {
                **changed,
                "w_id": task.id,
                "w_owner_id": task.owner_id,
                "w_version": expected_version,
            },
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
                _INSERT_TAGS,
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
        shape, parameters = _listing(self._dialect, owner_id, query, now)
        rows = (await self._conn.execute(_listing_statement(shape), parameters)).all()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_after = None
        if more and rows:
            last = rows[-1]
            next_after = tuple(
                last[len(_READ_COLUMNS) + i] for i in range(len(last) - len(_READ_COLUMNS))
            )
        return Page([_task_from_row(row) for row in rows], next_after)

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
            keys = [(NO_DUE, False), (tasks.c.due_at, desc)]
        case SortKey.PRIORITY:
            keys = [(tasks.c.priority, desc)]
        case SortKey.CREATED:
            keys = [(tasks.c.created_at, desc)]
        case SortKey.UPDATED:
            keys = [(tasks.c.updated_at, desc)]
        case SortKey.TITLE:
            keys = [(func.lower(tasks.c.title), desc)]
    return [*keys, (tasks.c.seq, desc)]


def _after(keys: _SortKeys, nulls: tuple[bool, ...]) -> ColumnElement[bool]:
    """Rows strictly after the previous page's last row in the order of `keys`. Its value
    for key i is bound as `after{i}`, unless it is NULL (`nulls[i]`): NULL equals only NULL."""
    clause: ColumnElement[bool] = false()
    same: ColumnElement[bool]
    beyond: ColumnElement[bool]
    for i, ((expr, desc), null) in reversed(list(enumerate(zip(keys, nulls, strict=True)))):
        if null:
            same, beyond = expr.is_(None), false()
        else:
            value = bindparam(f"after{i}", type_=expr.type)
            same, beyond = expr == value, (expr < value if desc else expr > value)
        clause = or_(beyond, and_(same, clause))
    return clause


# --- listings ------------------------------------------------------------------------------


class _Shape(NamedTuple):
    """What the SQL of a listing depends on; its values are bound at execution."""

    dialect: str
    status: bool
    priorities: int
    """How many: at most one per priority, each bound on its own (an expanding IN list
    would have SQLAlchemy rewrite the SQL text on every execution)."""
    tags_all: int
    tags_any: bool
    due_before: bool
    due_after: bool
    overdue: bool | None
    no_due: bool | None
    series: bool
    search: bool
    sort: SortKey
    order: Order
    after: tuple[bool, ...] | None
    """Per sort key, whether the previous page's last value is NULL; None on a first page."""


def _listing(
    dialect: str, owner_id: str, query: TaskQuery, now: datetime
) -> tuple[_Shape, dict[str, Any]]:
    """The shape of a listing, and the values to bind into its statement."""
    values: dict[str, Any] = {"owner": owner_id, "limit": query.limit + 1}
    if query.status is not None:
        values["status"] = query.status.value
    for i, rank in enumerate(sorted(p.rank for p in query.priorities)):
        values[f"priority{i}"] = rank
    for i, tag in enumerate(sorted(query.tags_all)):
        values[f"tag{i}"] = tag
    if query.tags_any:
        values["tags_any"] = sorted(query.tags_any)
    if query.due_before is not None:
        values["due_before"] = query.due_before
    if query.due_after is not None:
        values["due_after"] = query.due_after
    if query.overdue is not None:
        values["now"] = now
    if query.series_id is not None:
        values["series"] = query.series_id
    if query.search is not None:
        query_words = search.words(query.search)
        if not query_words:
            raise ValidationFailed.of(
                "q", "search_invalid", "Search for at least one word of letters or digits."
            )
        if dialect == "sqlite":
            values["match"] = search.sqlite_match(owner_id, query_words)
        else:
            values["words"] = " ".join(query_words)
    after = None
    if query.after is not None:
        after = tuple(value is None for value in query.after)
        values.update((f"after{i}", v) for i, v in enumerate(query.after) if v is not None)
    shape = _Shape(
        dialect=dialect,
        status=query.status is not None,
        priorities=len(query.priorities),
        tags_all=len(query.tags_all),
        tags_any=bool(query.tags_any),
        due_before=query.due_before is not None,
        due_after=query.due_after is not None,
        overdue=query.overdue,
        no_due=query.no_due,
        series=query.series_id is not None,
        search=query.search is not None,
        sort=query.sort,
        order=query.order,
        after=after,
    )
    return shape, values


@functools.lru_cache(maxsize=1024)
def _listing_statement(shape: _Shape) -> Select[Any]:
    """The statement of every listing of this shape. Built once, so SQLAlchemy keeps its
    cache key on the object and its compiled form in the engine's cache: a listing builds,
    keys and compiles no SQL."""
    keys, labelled, order_by = _ordering(shape.sort, shape.order)
    where: list[ColumnElement[bool]] = [tasks.c.owner_id == bindparam("owner")]
    if shape.status:
        where.append(tasks.c.status == bindparam("status"))
    if shape.priorities:
        ranks: list[BindParameter[int]] = [
            bindparam(f"priority{i}") for i in range(shape.priorities)
        ]
        where.append(tasks.c.priority.in_(ranks))
    for i in range(shape.tags_all):
        tag: BindParameter[str] = bindparam(f"tag{i}")
        where.append(exists().where(task_tags.c.task_seq == tasks.c.seq, task_tags.c.tag == tag))
    if shape.tags_any:
        tags_any: BindParameter[list[str]] = bindparam("tags_any", expanding=True)
        where.append(
            exists().where(task_tags.c.task_seq == tasks.c.seq, task_tags.c.tag.in_(tags_any))
        )
    if shape.due_before:
        where.append(tasks.c.due_at < bindparam("due_before"))
    if shape.due_after:
        where.append(tasks.c.due_at >= bindparam("due_after"))
    if shape.overdue is not None:
        overdue = and_(tasks.c.status == Status.OPEN.value, tasks.c.due_at <= bindparam("now"))
        where.append(overdue if shape.overdue else ~overdue)
    if shape.no_due is not None:
        where.append(tasks.c.due_at.is_(None) if shape.no_due else tasks.c.due_at.is_not(None))
    if shape.series:
        where.append(tasks.c.series_id == bindparam("series"))
    if shape.search:
        where.append(_search(shape.dialect))
    if shape.after is not None:
        where.append(_after(keys, shape.after))
    return (
        select(*_READ_COLUMNS, *labelled)
        .where(*where)
        .order_by(*order_by)
        .limit(bindparam("limit", type_=Integer()))
    )


def _search(dialect: str) -> ColumnElement[bool]:
    """Tasks matching the bound words, looked up in the owner's part of the text index:
    the owner's terms of the FTS5 table on SQLite (`match`), the owner's rows of the
    index on PostgreSQL (`owner`, `words`)."""
    if dialect == "sqlite":
        return tasks.c.seq.in_(
            select(literal_column("rowid"))
            .select_from(text("tasks_fts"))
            .where(text("tasks_fts MATCH :match"))
        )
    query = func.taskstream_search_query(
        bindparam("owner", type_=String()), bindparam("words", type_=String()), search.MIN_PREFIX
    )
    return literal_column("tasks.search").op("@@")(query)


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
