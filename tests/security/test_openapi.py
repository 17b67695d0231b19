"""Defect 9: the OpenAPI document states what the server does (the web client is generated
from it); tests/security/test_schemathesis.py checks it against the running server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from taskstream.app.access_tokens import NAME_MAX
from taskstream.bootstrap import build
from taskstream.domain.tasks import TAG_MAX, TAGS_PER_TASK, TITLE_MAX
from taskstream.entrypoints.api.app import create_app, openapi_document
from taskstream.settings import Settings
from tests.integration.conftest import Login

DOCUMENT = openapi_document()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]


def test_every_error_is_described_as_problem_json() -> None:
    for path, method, operation in _operations():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], (path, method)
    assert "HTTPValidationError" not in SCHEMAS


def test_bodies_document_400_413_and_422() -> None:
    for path, method, operation in _operations():
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= operation["responses"].keys(), (path, method)


def test_the_limits_are_the_real_ones() -> None:
    create = SCHEMAS["TaskCreate"]["properties"]
    assert create["title"]["maxLength"] == TITLE_MAX
    assert create["tags"]["maxItems"] == TAGS_PER_TASK
    assert create["tags"]["items"]["maxLength"] == TAG_MAX
    assert SCHEMAS["SignUp"]["properties"]["password"]["minLength"] == 8
    due_time = create["due_time"]["anyOf"][0]
    assert "format" not in due_time
    assert due_time["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def test_the_chat_and_token_limits_are_stated() -> None:
    message = SCHEMAS["ChatIn"]["properties"]["message"]
    assert message["maxLength"] == Settings(_env_file=None).chat_max_message_chars  # type: ignore[call-arg]
    assert re.fullmatch(message["pattern"][1:-1], " hi ")
    for bad in ("", " \t", "hi\x00"):
        assert not re.fullmatch(message["pattern"][1:-1], bad)
    [conversation] = SCHEMAS["ChatIn"]["properties"]["conversation_id"]["anyOf"][:1]
    assert conversation["pattern"] == "^[^\\x00]*$"
    name = SCHEMAS["TokenCreate"]["properties"]["name"]
    assert name["maxLength"] == NAME_MAX
    assert name["pattern"] == message["pattern"]


def test_the_chat_limit_stated_is_the_servers_setting() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        jwt_secret="0" * 32,
        database_url="sqlite+aiosqlite://",
        chat_max_message_chars=50,
    )
    document = create_app(build(settings), migrate=False).openapi()
    assert document["components"]["schemas"]["ChatIn"]["properties"]["message"]["maxLength"] == 50


@pytest.mark.parametrize("name", ["title", "description", "priority", "tags", "timezone"])
def test_a_patch_field_that_refuses_null_is_not_nullable(name: str) -> None:
    field = SCHEMAS["TaskUpdate"]["properties"][name]
    assert "anyOf" not in field
    assert field.get("type") != "null"
    assert "default" not in field


async def test_patch_refuses_null_as_the_schema_says(
    client: httpx.AsyncClient, login: Login
) -> None:
    headers = await login()
    task = (await client.post("/tasks", headers=headers, json={"title": "x"})).json()
    response = await client.patch(f"/tasks/{task['id']}", headers=headers, json={"title": None})
    assert response.status_code == 422


async def test_a_405_names_every_method_of_the_path(
    client: httpx.AsyncClient, login: Login
) -> None:
    headers = await login()
    response = await client.options("/tasks/some-id", headers=headers)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed == {"GET", "HEAD", "PATCH", "DELETE"}
    response = await client.put("/tasks", headers=headers)
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "POST"}
