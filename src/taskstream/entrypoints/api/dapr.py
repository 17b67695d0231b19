"""The routes only a Dapr sidecar calls, in the distributed shape.

- GET /dapr/subscribe: this app's subscriptions (one route per topic, each with its
  dead-letter topic);
- POST /events/{topic}: a delivery; the answer is {"status": "SUCCESS" | "RETRY" | "DROP"};
- POST /events/{topic}/bulk: a bulk delivery (a topic subscribed in bulk); the answer is
  {"statuses": [{"entryId": ..., "status": ...}, ...]}, one per entry;
- POST /job/{name}: a job of the Dapr scheduler fell due (reminders, notifier);
- POST /internal/v1/tasks/{task_id}/next-occurrence: service invocation from `recurring`
  (api only).

When TASKSTREAM_APP_API_TOKEN is set, each request must carry it as `dapr-api-token` (daprd
sends its APP_API_TOKEN there). None of these routes is in the OpenAPI document, and the
gateway never routes to them.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from taskstream.app.events import task_data
from taskstream.app.ports import Drop
from taskstream.bootstrap import Container, DaprRuntime
from taskstream.domain.errors import Unauthorized
from taskstream.entrypoints.api.deps import ContainerDep

log = logging.getLogger(__name__)


async def _from_sidecar(
    container: ContainerDep,
    dapr_api_token: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> DaprRuntime:
    expected = container.settings.app_api_token
    if expected is None or not hmac.compare_digest(
        (dapr_api_token or "").encode(), expected.get_secret_value().encode()
    ):
        raise Unauthorized("Only the Dapr sidecar may call this.", code="not_the_sidecar")
    assert container.dapr is not None
    return container.dapr


Sidecar = Annotated[DaprRuntime, Depends(_from_sidecar)]


class NextOccurrence(BaseModel):
    owner_id: str


def install(app: FastAPI, container: Container) -> None:
    """Add the sidecar's routes to a service's app."""
    router = APIRouter(include_in_schema=False)

    @router.get("/dapr/subscribe")
    async def subscriptions(dapr: Sidecar) -> list[dict[str, Any]]:
        return dapr.bus.dapr_subscriptions()

    @router.post("/events/{topic}")
    async def deliver(topic: str, request: Request, dapr: Sidecar) -> dict[str, str]:
        return {"status": await dapr.bus.deliver(topic, await request.body())}

    @router.post("/events/{topic}/bulk")
    async def deliver_bulk(topic: str, request: Request, dapr: Sidecar) -> dict[str, Any]:
        return {"statuses": await dapr.bus.deliver_bulk(topic, await request.body())}

    if container.dapr is not None and container.dapr.jobs is not None:

        @router.post("/job/{name}")
        async def fire(name: str, request: Request, dapr: Sidecar) -> Response:
            assert dapr.jobs is not None
            try:
                await dapr.jobs.fire(await request.json())
            except Drop as exc:  # not ours to run: do not have it retried
                log.warning("job %s dropped: %s", name, exc)
            except Exception:
                log.exception("job %s failed; the scheduler will trigger it again", name)
                return JSONResponse({"error": "the job failed; trigger it again"}, 500)
            return Response(status_code=200)

    if "api" in container.roles:

        @router.post("/internal/v1/tasks/{task_id}/next-occurrence")
        async def next_occurrence(
            task_id: str, body: NextOccurrence, container: ContainerDep, _: Sidecar
        ) -> dict[str, Any]:
            task = await container.tasks.create_next_occurrence(body.owner_id, task_id)
            return {"task": None if task is None else task_data(task)}

    app.include_router(router)
