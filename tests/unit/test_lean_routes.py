"""A LeanRoute answers every request exactly as FastAPI's own handler does, and solves no
dependency through FastAPI for a request it can take."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal, NamedTuple

import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from taskstream.domain.errors import Unauthorized, ValidationFailed
from taskstream.entrypoints.api.errors import install_error_handlers
from taskstream.entrypoints.api.lean import LeanRoute

calls: Counter[str] = Counter()
_bearer = HTTPBearer(auto_error=False)


async def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    calls["token"] += 1
    if credentials is None:
        raise Unauthorized("Log in first.", code="not_authenticated")
    return credentials.credentials


Token = Annotated[str, Depends(_token)]


async def _owner(token: Token, request: Request) -> str:
    return f"{token}@{request.url.path}"


async def _version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    if if_match is not None and not if_match.isdigit():
        raise ValidationFailed.of("If-Match", "if_match_invalid", "Give a number.")
    return None if if_match is None else int(if_match)


class Filters(BaseModel):
    status: Literal["open", "done"] | None = None
    tag: list[str] | None = None
    limit: Annotated[int, Field(ge=1, le=5)] = 2


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1)]


def _answer(**values: Any) -> Response:
    return Response(repr(sorted(values.items())), media_type="text/plain")


async def list_things(
    filters: Annotated[Filters, Query()],
    token: Token,
    owner: Annotated[str, Depends(_owner)],
) -> Response:
    return _answer(filters=filters, token=token, owner=owner)


async def change_thing(
    thing_id: str,
    body: Change,
    token: Token,
    version: Annotated[int | None, Depends(_version)],
) -> Response:
    return _answer(thing_id=thing_id, body=body, token=token, version=version)


async def model_answer(token: Token) -> Change:  # not a Response: FastAPI serialises it
    return Change(title=token)


def _router(route_class: type[fastapi.routing.APIRoute]) -> APIRouter:
    router = APIRouter(route_class=route_class)
    router.add_api_route("/things", list_things, methods=["GET"])
    router.add_api_route("/things/{thing_id}", change_thing, methods=["PATCH"])
    router.add_api_route("/model", model_answer, methods=["GET"])
    return router


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(_router(LeanRoute), prefix="/lean")
    app.include_router(_router(fastapi.routing.APIRoute), prefix="/plain")
    return app


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many requests FastAPI solved dependencies for, by path prefix (and the token
    dependency's calls counted from zero)."""
    calls.clear()
    counts: Counter[str] = Counter()
    solve = fastapi.routing.solve_dependencies

    async def counting(*, request: Request, **kwargs: Any) -> Any:
        counts[request.url.path.split("/")[1]] += 1
        return await solve(request=request, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return counts


class Sent(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None


AUTH = {"Authorization": "Bearer t0k"}
JSON = {**AUTH, "Content-Type": "application/json"}

TAKEN = [
    Sent("GET", "/things?status=open&tag=a&tag=b&limit=3", AUTH, None),
    Sent("GET", "/things?limit=2&limit=4&unknown=1", AUTH, None),
    Sent("GET", "/things?tag=", AUTH, None),
    Sent("GET", "/things", {"authorization": "bearer t0k"}, None),
    Sent("PATCH", "/things/a1", JSON, b'{"title": "x"}'),
    Sent("PATCH", "/things/a1", {**JSON, "If-Match": "7"}, b'{"title": "x"}'),
    Sent(
        "PATCH",
        "/things/a1",
        {**AUTH, "Content-Type": "application/json; charset=utf-8"},
        b'{"title": "x"}',
    ),
]
"""Requests a lean route takes itself."""

HANDED_OVER = [
    Sent("GET", "/things?limit=9", AUTH, None),
    Sent("GET", "/things?status=nope&limit=x", AUTH, None),
    Sent("PATCH", "/things/a1", JSON, b'{"title": "x"'),
    Sent("PATCH", "/things/a1", JSON, b""),
    Sent("PATCH", "/things/a1", JSON, b'{"title": "x", "more": 1}'),
    Sent("PATCH", "/things/a1", {**AUTH, "Content-Type": "text/plain"}, b'{"title": "x"}'),
    Sent("PATCH", "/things/a1", AUTH, b'{"title": "x"}'),
    Sent("PATCH", "/things/a1", {"Content-Type": "application/json"}, b"[]"),
]
"""Requests whose query or body does not pass: FastAPI's handler answers them."""

RAISING = [
    Sent("GET", "/things", {}, None),
    Sent("GET", "/things", {"Authorization": "Basic t0k"}, None),
    Sent("PATCH", "/things/a1", {"Content-Type": "application/json"}, b'{"title": "x"}'),
    Sent("PATCH", "/things/a1", {**JSON, "If-Match": "W/1"}, b'{"title": "x"}'),
]
"""Requests a dependency refuses, in either handler."""


async def _both(app: FastAPI, sent: Sent) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = []
        for prefix in ("/lean", "/plain"):
            response = await client.request(
                sent.method, prefix + sent.path, headers=sent.headers, content=sent.body
            )
            text = response.text.replace(prefix, "")
            answers.append((response.status_code, response.headers["content-type"], text))
    return answers[0], answers[1]


@pytest.mark.parametrize("sent", TAKEN + HANDED_OVER + RAISING)
async def test_a_lean_route_answers_as_fastapi_does(app: FastAPI, sent: Sent) -> None:
    lean, plain = await _both(app, sent)
    assert lean == plain


@pytest.mark.parametrize("sent", TAKEN)
async def test_a_request_the_plan_takes_solves_nothing_through_fastapi(
    app: FastAPI, solved: Counter[str], sent: Sent
) -> None:
    lean, _plain = await _both(app, sent)
    assert lean[0] == 200
    assert solved == {"plain": 1}
    assert calls["token"] == 2  # once per request, though two parameters depend on it


@pytest.mark.parametrize("sent", HANDED_OVER)
async def test_a_request_the_plan_cannot_take_goes_to_fastapi_before_any_dependency_runs(
    app: FastAPI, solved: Counter[str], sent: Sent
) -> None:
    await _both(app, sent)
    assert solved["lean"] == solved["plain"]  # both went through FastAPI's handler...
    assert calls["token"] == 2 * solved["plain"]  # ...and the lean route ran nothing first


async def test_an_endpoint_returning_a_model_keeps_fastapis_handler(
    app: FastAPI, solved: Counter[str]
) -> None:
    lean, plain = await _both(app, Sent("GET", "/model", AUTH, None))
    assert lean == plain == (200, "application/json", '{"title":"t0k"}')
    assert solved == {"lean": 1, "plain": 1}
