"""The notification inbox of the `notifier` service: what reached you in the app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from taskstream.app.inbox import InboxEntry, Notifications
from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser
from taskstream.entrypoints.api.schemas import Problem

PAGE_MAX = 200

router = APIRouter(tags=["notifications"])


class NotificationPublic(BaseModel):
    id: str = Field(description="The id of the notification event pushed over /ws.")
    kind: str = Field(description='What it is about: "reminder".')
    task_id: str | None
    title: str
    data: dict[str, Any] = Field(description="The notification's data (due_at, remind_at...).")
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, entry: InboxEntry) -> NotificationPublic:
        return cls(
            id=entry.id,
            kind=entry.kind,
            task_id=entry.task_id,
            title=entry.title,
            data=entry.data,
            created_at=entry.created_at,
            read_at=entry.read_at,
        )


class NotificationsPublic(BaseModel):
    data: list[NotificationPublic] = Field(description="Newest first.")
    unread: int = Field(description="Your unread notifications in all.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications were unread and now are read.")


def _notifications(container: ContainerDep) -> Notifications:
    return container.notifier.notifications


NotificationsDep = Annotated[Notifications, Depends(_notifications)]


@router.get(
    "/notifications", name="list", responses={401: {"model": Problem}, 422: {"model": Problem}}
)
async def list_notifications(
    principal: CurrentUser,
    notifications: NotificationsDep,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> NotificationsPublic:
    """Your notifications, newest first, with the number still unread."""
    page, next_cursor = await notifications.page(
        principal.user_id, limit=limit, unread_only=unread, cursor=cursor
    )
    return NotificationsPublic(
        data=[NotificationPublic.of(e) for e in page.entries],
        unread=page.unread,
        next_cursor=next_cursor,
    )


@router.post(
    "/notifications/{notification_id}/read",
    name="read",
    responses={401: {"model": Problem}, 404: {"model": Problem}},
)
async def mark_read(
    notification_id: Annotated[str, Path(max_length=36)],
    principal: CurrentUser,
    notifications: NotificationsDep,
) -> NotificationPublic:
    """Mark one notification read (marking it again keeps the first moment)."""
    return NotificationPublic.of(await notifications.mark_read(principal.user_id, notification_id))


@router.post("/notifications/read", name="read_all", responses={401: {"model": Problem}})
async def mark_all_read(principal: CurrentUser, notifications: NotificationsDep) -> MarkedRead:
    """Mark every unread notification of yours read."""
    return MarkedRead(marked=await notifications.mark_all_read(principal.user_id))
