"""The activity history of the `audit` service: read-only, and only the caller's own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from taskstream.app.services.audit import (
    ActivityQuery,
    ActivityType,
    AuditService,
    decode_cursor,
    encode_cursor,
)
from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser
from taskstream.entrypoints.api.schemas import Moment, Problem

PAGE_MAX = 200

router = APIRouter(tags=["activity"])


class ActivityPublic(BaseModel):
    id: str = Field(description="The id of the event recorded.")
    type: ActivityType
    task_id: str | None
    time: datetime = Field(description="When it happened (UTC).")
    data: dict[str, Any] = Field(description="The event's data: the task as it was then.")


class ActivitiesPublic(BaseModel):
    data: list[ActivityPublic] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def _audit(container: ContainerDep) -> AuditService:
    return container.audit


AuditDep = Annotated[AuditService, Depends(_audit)]


@router.get("/activity", name="list", responses={401: {"model": Problem}, 422: {"model": Problem}})
async def list_activity(
    principal: CurrentUser,
    audit: AuditDep,
    task_id: Annotated[str | None, Query(max_length=36, description="One task's history.")] = None,
    type: Annotated[
        list[ActivityType] | None, Query(description="One or several event types.")
    ] = None,
    since: Annotated[Moment | None, Query(description="time ≥ this")] = None,
    until: Annotated[Moment | None, Query(description="time < this")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ActivitiesPublic:
    """What happened to your tasks, newest first."""
    query = ActivityQuery(
        task_id=task_id,
        types=frozenset(type or ()),
        since=since,
        until=until,
        limit=limit,
        after=decode_cursor(cursor) if cursor else None,
    )
    page = await audit.history(principal.user_id, query)
    return ActivitiesPublic(
        data=[
            ActivityPublic(
                id=e.event_id,
                type=ActivityType(e.type),
                task_id=e.task_id,
                time=e.time,
                data=e.data,
            )
            for e in page.entries
        ],
        next_cursor=encode_cursor(page.next_after) if page.next_after else None,
    )
