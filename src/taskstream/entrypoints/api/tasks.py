"""Tasks and tags: every route acts for the authenticated user only."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from taskstream.app.queries import Order, SortKey, TaskQuery, decode_cursor, encode_cursor
from taskstream.bootstrap import Container
from taskstream.domain.tasks import TAG_MAX, Priority, Status, Task
from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser, IfMatch, etag
from taskstream.entrypoints.api.lean import LeanRoute
from taskstream.entrypoints.api.schemas import (
    TAG_PATTERN,
    Moment,
    Problem,
    TagPublic,
    TagRename,
    TagRenamed,
    TagsPublic,
    TaskCreate,
    TaskPublic,
    TasksPublic,
    TaskUpdate,
    public_json,
    task_fields,
)

PAGE_MAX = 200

router = APIRouter(tags=["tasks"], route_class=LeanRoute)
_ONE: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    404: {"model": Problem, "description": "No such task among yours."},
}
_CHANGE: dict[int | str, dict[str, Any]] = {
    **_ONE,
    412: {"model": Problem, "description": "If-Match names an old version."},
}


@router.post(
    "/tasks",
    name="create",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses={401: {"model": Problem}, 422: {"model": Problem}},
)
async def create_task(
    body: TaskCreate, principal: CurrentUser, container: ContainerDep
) -> Response:
    task = await container.tasks.create(principal.user_id, body.to_domain(), principal.timezone)
    headers = {"ETag": etag(task.version), "Location": f"/api/v1/tasks/{task.id}"}
    return public_json(task_fields(task, container.clock.now()), status.HTTP_201_CREATED, headers)


class TaskFilters(BaseModel):
    """What a listing asks for, from its query string. One model: FastAPI validates it in
    one pass, where fourteen parameters cost it a third of a listing's time."""

    status: Status | None = None
    priority: Annotated[list[Priority] | None, Field(description="One or several.")] = None
    tags_all: Annotated[list[str] | None, Field(description="Tasks with all of these.")] = None
    tags_any: Annotated[list[str] | None, Field(description="Tasks with any of these.")] = None
    due_before: Annotated[Moment | None, Field(description="due_at < this")] = None
    due_after: Annotated[Moment | None, Field(description="due_at ≥ this")] = None
    overdue: bool | None = None
    no_due: bool | None = None
    q: Annotated[
        str | None, Field(max_length=200, description="Words in title or description.")
    ] = None
    sort: SortKey = SortKey.CREATED
    order: Order = Order.ASC
    limit: Annotated[int, Field(ge=1, le=PAGE_MAX)] = 50
    cursor: Annotated[str | None, Field(max_length=500)] = None

    def query(self) -> TaskQuery:
        query = TaskQuery(
            status=self.status,
            priorities=frozenset(self.priority or ()),
            tags_all=frozenset(self.tags_all or ()),
            tags_any=frozenset(self.tags_any or ()),
            due_before=self.due_before,
            due_after=self.due_after,
            overdue=self.overdue,
            no_due=self.no_due,
            search=self.q,
            sort=self.sort,
            order=self.order,
            limit=self.limit,
        )
        if self.cursor:
            query = replace(query, after=decode_cursor(self.cursor, query))
        return query


@router.get(
    "/tasks",
    name="list",
    response_model=TasksPublic,
    responses={401: {"model": Problem}, 422: {"model": Problem}},
)
async def list_tasks(
    principal: CurrentUser, container: ContainerDep, filters: Annotated[TaskFilters, Query()]
) -> Response:
    query = filters.query()
    page = await container.tasks.find(principal.user_id, query)
    now = container.clock.now()
    return public_json(
        {
            "data": [task_fields(task, now) for task in page.tasks],
            "next_cursor": encode_cursor(query, page.next_after) if page.next_after else None,
        }
    )


@router.get("/tasks/{task_id}", name="read", response_model=TaskPublic, responses=_ONE)
async def read_task(task_id: str, principal: CurrentUser, container: ContainerDep) -> Response:
    task = await container.tasks.get(principal.user_id, task_id)
    return _task_response(task, container)


@router.patch(
    "/tasks/{task_id}",
    name="update",
    response_model=TaskPublic,
    responses={**_CHANGE, 422: {"model": Problem}},
)
async def update_task(
    task_id: str,
    body: TaskUpdate,
    principal: CurrentUser,
    container: ContainerDep,
    if_version: IfMatch,
) -> Response:
    task = await container.tasks.update(principal.user_id, task_id, body.to_domain(), if_version)
    return _task_response(task, container)


@router.post(
    "/tasks/{task_id}/complete", name="complete", response_model=TaskPublic, responses=_CHANGE
)
async def complete_task(
    task_id: str,
    principal: CurrentUser,
    container: ContainerDep,
    if_version: IfMatch,
) -> Response:
    task = await container.tasks.complete(principal.user_id, task_id, if_version)
    return _task_response(task, container)


@router.post("/tasks/{task_id}/reopen", name="reopen", response_model=TaskPublic, responses=_CHANGE)
async def reopen_task(
    task_id: str,
    principal: CurrentUser,
    container: ContainerDep,
    if_version: IfMatch,
) -> Response:
    task = await container.tasks.reopen(principal.user_id, task_id, if_version)
    return _task_response(task, container)


@router.delete(
    "/tasks/{task_id}", name="delete", status_code=status.HTTP_204_NO_CONTENT, responses=_CHANGE
)
async def delete_task(
    task_id: str, principal: CurrentUser, container: ContainerDep, if_version: IfMatch
) -> None:
    await container.tasks.delete(principal.user_id, task_id, if_version)


def _task_response(task: Task, container: Container) -> Response:
    return public_json(
        task_fields(task, container.clock.now()), headers={"ETag": etag(task.version)}
    )


tags = APIRouter(tags=["tags"])


@tags.get("/tags", name="list", responses={401: {"model": Problem}})
async def list_tags(principal: CurrentUser, container: ContainerDep) -> TagsPublic:
    counts = await container.tasks.tags(principal.user_id)
    return TagsPublic(data=[TagPublic(name=c.name, count=c.count) for c in counts])


@tags.patch(
    "/tags/{tag}",
    name="rename",
    responses={401: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)
async def rename_tag(
    tag: Annotated[str, Path(max_length=TAG_MAX, json_schema_extra={"pattern": TAG_PATTERN})],
    body: TagRename,
    principal: CurrentUser,
    container: ContainerDep,
) -> TagRenamed:
    renamed = await container.tasks.rename_tag(principal.user_id, tag, body.name)
    return TagRenamed(name=renamed.name, tasks=len(renamed.task_ids))
