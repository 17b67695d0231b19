"""The webhook API: create, list, delete, validation, and only ever the caller's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Login

Headers = dict[str, str]

HOOK = "https://example.com/hooks/taskstream"


@pytest.fixture
async def ada(login: Login) -> Headers:
    return await login()


@pytest.fixture
async def bob(login: Login) -> Headers:
    return await login("bob@example.com")


async def _create(client: httpx.AsyncClient, headers: Headers, url: str = HOOK) -> Any:
    response = await client.post("/webhooks", headers=headers, json={"url": url})
    assert response.status_code == 201, response.text
    return response.json()


async def _list(client: httpx.AsyncClient, headers: Headers) -> list[Any]:
    response = await client.get("/webhooks", headers=headers)
    assert response.status_code == 200, response.text
    data: list[Any] = response.json()["data"]
    return data


def _refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("url", code)]


async def test_a_webhook_is_created_listed_and_deleted(
    client: httpx.AsyncClient, ada: Headers
) -> None:
    response = await client.post("/webhooks", headers=ada, json={"url": f"  {HOOK}  "})

    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "url", "secret", "created_at"}
    assert created["url"] == HOOK
    assert len(created["secret"]) >= 32
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    assert response.headers["Location"] == f"/api/v1/webhooks/{created['id']}"
    other = await _create(client, ada, "http://127.0.0.1:9000/hook")
    assert other["secret"] != created["secret"]

    listed = await _list(client, ada)
    assert [h["id"] for h in listed] == [created["id"], other["id"]]
    assert all(set(h) == {"id", "url", "created_at"} for h in listed)  # the secret never again

    response = await client.delete(f"/webhooks/{created['id']}", headers=ada)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert [h["id"] for h in await _list(client, ada)] == [other["id"]]
    response = await client.delete(f"/webhooks/{created['id']}", headers=ada)
    assert response.status_code == 404
    assert response.json()["code"] == "webhook_not_found"


async def test_a_new_webhook_has_no_deliveries(client: httpx.AsyncClient, ada: Headers) -> None:
    hook = await _create(client, ada)

    response = await client.get(f"/webhooks/{hook['id']}/deliveries", headers=ada)

    assert response.status_code == 200, response.text
    assert response.json() == {"data": []}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "url_invalid"),
        ("javascript:alert(1)", "url_invalid"),
        ("example.com/hook", "url_invalid"),
        ("https://", "url_invalid"),
        ("http://example.com:port/hook", "url_invalid"),
        ("https://user:pass@example.com/hook", "url_invalid"),
        ("https://example.com/a hook", "url_invalid"),
        ("", "url_invalid"),
        ("https://example.com/" + "a" * 1981, "url_too_long"),
    ],
)
async def test_only_http_and_https_urls_of_at_most_2000_characters_are_taken(
    client: httpx.AsyncClient, ada: Headers, url: str, code: str
) -> None:
    response = await client.post("/webhooks", headers=ada, json={"url": url})

    _refused(response, code)
    assert await _list(client, ada) == []


async def test_a_url_of_exactly_2000_characters_is_taken(
    client: httpx.AsyncClient, ada: Headers
) -> None:
    url = "https://example.com/" + "a" * 1980
    assert len(url) == 2000

    assert (await _create(client, ada, url))["url"] == url


async def test_the_body_is_checked(client: httpx.AsyncClient, ada: Headers) -> None:
    for body in ({}, {"url": HOOK, "secret": "mine"}, {"url": 42}):
        response = await client.post("/webhooks", headers=ada, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == "validation_failed"


async def test_a_user_has_at_most_five_webhooks(client: httpx.AsyncClient, ada: Headers) -> None:
    hooks = [await _create(client, ada, f"{HOOK}/{n}") for n in range(5)]

    _refused(
        await client.post("/webhooks", headers=ada, json={"url": f"{HOOK}/6"}),
        "webhooks_limit_reached",
    )
    assert len(await _list(client, ada)) == 5
    response = await client.delete(f"/webhooks/{hooks[0]['id']}", headers=ada)
    assert response.status_code == 204
    await _create(client, ada, f"{HOOK}/6")


async def test_the_limit_is_per_user(client: httpx.AsyncClient, ada: Headers, bob: Headers) -> None:
    for n in range(5):
        await _create(client, ada, f"{HOOK}/{n}")

    assert (await _create(client, bob))["url"] == HOOK


async def test_another_user_s_webhook_is_like_a_missing_one(
    client: httpx.AsyncClient, ada: Headers, bob: Headers
) -> None:
    hook = await _create(client, ada)
    missing = "00000000-0000-4000-8000-000000000000"

    assert await _list(client, bob) == []
    for webhook_id in (hook["id"], missing):
        for response in (
            await client.delete(f"/webhooks/{webhook_id}", headers=bob),
            await client.get(f"/webhooks/{webhook_id}/deliveries", headers=bob),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "webhook_not_found"
    assert [h["id"] for h in await _list(client, ada)] == [hook["id"]]


async def test_webhooks_need_a_login(client: httpx.AsyncClient, ada: Headers) -> None:
    hook = await _create(client, ada)

    for response in (
        await client.post("/webhooks", json={"url": HOOK}),
        await client.get("/webhooks"),
        await client.delete(f"/webhooks/{hook['id']}"),
        await client.get(f"/webhooks/{hook['id']}/deliveries"),
    ):
        assert response.status_code == 401, response.text
    assert len(await _list(client, ada)) == 1


async def test_the_operations_are_named_for_the_generated_client(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200

    ids = {
        operation["operationId"]
        for path, item in response.json()["paths"].items()
        if path.startswith("/api/v1/webhooks")
        for operation in item.values()
    }
    assert ids == {"webhooks-create", "webhooks-list", "webhooks-delete", "webhooks-deliveries"}
