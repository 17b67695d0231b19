"""Webhooks: a user's own URLs that reminders are POSTed to, signed, and what was sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from taskstream.app.deliveries import Delivery, DeliveryStatus
from taskstream.app.ports import Webhook
from taskstream.app.webhooks import WebhookRegistry
from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser
from taskstream.entrypoints.api.schemas import Problem

DELIVERIES_MAX = 100

router = APIRouter(tags=["webhooks"])

_ONE: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    404: {"model": Problem, "description": "No such webhook among yours."},
}

_WebhookId = Annotated[str, Path(max_length=36)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A generous outer bound; the use case gives the precise rule (2000) and its code.
    url: str = Field(max_length=10_000, examples=["https://example.com/hooks/taskstream"])


class WebhookPublic(BaseModel):
    id: str
    url: str
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookPublic:
        return cls(id=webhook.id, url=webhook.url, created_at=webhook.created_at)


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="Signs every delivery: X-Taskstream-Signature is sha256= and the "
        "HMAC-SHA256, under this secret, of X-Taskstream-Timestamp, a dot and the body. "
        "Shown only here: keep it."
    )


class WebhooksPublic(BaseModel):
    data: list[WebhookPublic]


class AttemptPublic(BaseModel):
    at: datetime
    outcome: str = Field(
        description='What came back: "HTTP 200" (any status), "no response" or '
        '"address not allowed".'
    )


class DeliveryPublic(BaseModel):
    id: str = Field(description="Sent as X-Taskstream-Delivery.")
    event_id: str = Field(description="The id of the CloudEvent delivered.")
    task_id: str
    status: DeliveryStatus
    attempts: list[AttemptPublic]
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            task_id=delivery.task_id,
            status=delivery.status,
            attempts=[AttemptPublic(at=a.at, outcome=a.outcome) for a in delivery.attempts],
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic] = Field(description="Newest first.")


def _registry(container: ContainerDep) -> WebhookRegistry:
    return container.notifier.webhooks


RegistryDep = Annotated[WebhookRegistry, Depends(_registry)]


@router.post(
    "/webhooks",
    name="create",
    status_code=status.HTTP_201_CREATED,
    responses={401: {"model": Problem}, 422: {"model": Problem}},
)
async def create_webhook(
    body: WebhookCreate, principal: CurrentUser, registry: RegistryDep, response: Response
) -> WebhookCreated:
    """Register a URL for your reminders (at most 5). The secret is shown this once."""
    webhook = await registry.create(principal.user_id, body.url)
    response.headers["Location"] = f"/api/v1/webhooks/{webhook.id}"
    return WebhookCreated(
        id=webhook.id, url=webhook.url, created_at=webhook.created_at, secret=webhook.secret
    )


@router.get("/webhooks", name="list", responses={401: {"model": Problem}})
async def list_webhooks(principal: CurrentUser, registry: RegistryDep) -> WebhooksPublic:
    """Your webhooks, oldest first (without their secrets)."""
    return WebhooksPublic(
        data=[WebhookPublic.of(w) for w in await registry.of_user(principal.user_id)]
    )


@router.delete(
    "/webhooks/{webhook_id}",
    name="delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_ONE,
)
async def delete_webhook(
    webhook_id: _WebhookId, principal: CurrentUser, registry: RegistryDep
) -> None:
    """Stop sending to this webhook, and forget what was sent to it."""
    await registry.delete(principal.user_id, webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", name="deliveries", responses=_ONE)
async def list_deliveries(
    webhook_id: _WebhookId,
    principal: CurrentUser,
    registry: RegistryDep,
    limit: Annotated[int, Query(ge=1, le=DELIVERIES_MAX)] = 20,
) -> DeliveriesPublic:
    """What was sent to this webhook, newest first, with every attempt."""
    deliveries = await registry.deliveries(principal.user_id, webhook_id, limit)
    return DeliveriesPublic(data=[DeliveryPublic.of(d) for d in deliveries])
