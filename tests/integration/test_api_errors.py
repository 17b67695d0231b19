"""Client mistakes get problem details with a stable code, never a 500."""

from __future__ import annotations

import httpx
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from taskstream.entrypoints.api.errors import BodyLimitMiddleware
from taskstream.settings import Settings
from tests.integration.conftest import Login


async def test_malformed_json_is_a_validation_problem(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login()
    response = await client.post(
        "/tasks", headers={**ada, "Content-Type": "application/json"}, content=b'{"title": '
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"


async def test_a_body_over_the_limit_is_refused(
    client: httpx.AsyncClient, login: Login, settings: Settings
) -> None:
    ada = await login()
    big = {"title": "big", "description": "x" * (settings.max_body_bytes + 1)}
    response = await client.post("/tasks", headers=ada, json=big)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


async def test_a_streamed_body_over_the_limit_is_refused(
    client: httpx.AsyncClient, login: Login, settings: Settings
) -> None:
    ada = await login()

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: chunked
        yield b'{"title": "big", "description": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        "/tasks", headers={**ada, "Content-Type": "application/json"}, content=chunks()
    )
    assert response.status_code == 413


async def test_a_sidecars_deliveries_are_not_limited() -> None:
    """A Dapr sidecar's bulk delivery holds up to a hundred events: more than a client sends."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await PlainTextResponse(str(len(body)))(scope, receive, send)

    limited = BodyLimitMiddleware(app, max_bytes=1024, exempt_prefix="/events/")
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        delivered = await client.post("/events/task-events/bulk", content=b"x" * 4096)
        assert (delivered.status_code, delivered.text) == (200, "4096")
        refused = await client.post("/api/v1/tasks", content=b"x" * 4096)
        assert refused.status_code == 413


async def test_unknown_paths_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = await client.put("/tasks")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_bad_query_values_are_validation_problems(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login()
    for query in (
        "limit=0",
        "limit=201",
        "sort=color",
        "status=maybe",
        "due_before=tomorrow",
        "due_before=2031-01-01T00:00:00",
        "cursor=%%%",
        "q=%21%21%21",
    ):
        response = await client.get(f"/tasks?{query}", headers=ada)
        assert response.status_code == 422, query
        assert response.json()["errors"], query


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    transport_root = str(client.base_url).removesuffix("/api/v1/")
    async with httpx.AsyncClient(transport=client._transport, base_url=transport_root) as root:
        assert (await root.get("/healthz")).json() == {"status": "ok"}
        assert (await root.get("/readyz")).json() == {"status": "ready"}


async def test_openapi_names_operations_for_a_generated_client(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation_ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "auth-signup",
        "auth-login",
        "auth-refresh",
        "auth-logout",
        "users-me",
        "tasks-create",
        "tasks-list",
        "tasks-read",
        "tasks-update",
        "tasks-complete",
        "tasks-reopen",
        "tasks-delete",
        "tags-list",
        "tags-rename",
        "health-live",
        "health-ready",
    } <= operation_ids
