"""Routes whose requests skip FastAPI's per-request dependency solving.

For every request FastAPI walks the route's dependency tree, builds a field per parameter
and validates each through it, and opens two exit stacks: for a listing that is about a
third of its CPU. A `LeanRoute` reads its arguments through a plan made once, from the
same signature: the dependencies in order (each called once per request, as FastAPI
caches them), the path parameters, the query as one model and the JSON body as one model.

The route's declaration is unchanged, so its OpenAPI document is too. A request the plan
cannot take as it is (no bearer token, a query or body that does not validate, a body
that is not JSON) goes through FastAPI's own handler, which answers exactly as before.
An endpoint whose signature holds anything else (or a dependency that is not a coroutine),
that does not return a `Response`, or whose route or router has dependencies of its own,
keeps FastAPI's handler for every request; so does every request while the app overrides
dependencies. (Dependencies given to `include_router` are not seen: give them to the
router.)
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import params
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_Step = Callable[[Request, dict[Any, Any]], Awaitable[Any]]


class _Unplanned(Exception):
    """This request (or this signature) is left to FastAPI."""


class LeanRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        fastapi_handler = super().get_route_handler()
        try:
            if self.dependencies:  # the route's or its router's own: left to FastAPI
                raise _Unplanned
            arguments = _plan(self.endpoint, set(self.param_convertors))
        except _Unplanned:
            return fastapi_handler
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            if request.app.dependency_overrides:  # tests may replace dependencies
                return await fastapi_handler(request)
            cache: dict[Any, Any] = {}
            try:
                kwargs = {name: await step(request, cache) for name, step in arguments}
            except _Unplanned:
                return await fastapi_handler(request)
            response: Response = await endpoint(**kwargs)
            return response

        return handler


def _plan(call: Callable[..., Any], path_names: set[str]) -> list[tuple[str, _Step]]:
    """The endpoint's arguments, those read from the request itself first: a request that
    goes to FastAPI's handler then has not run a dependency yet."""
    if not _is_async(call) or get_type_hints(call).get("return") is not Response:
        raise _Unplanned
    steps = [(name, _step(name, hint, path_names)) for name, hint in _hints(call)]
    return sorted(steps, key=lambda named: isinstance(named[1], _Dependency))


def _hints(call: Callable[..., Any]) -> list[tuple[str, Any]]:
    target = call if inspect.isfunction(call) else type(call).__call__
    hints = get_type_hints(target, include_extras=True)
    return [(name, hints.get(name, Any)) for name in inspect.signature(call).parameters]


def _step(name: str, hint: Any, path_names: set[str]) -> _Step:
    """How one parameter gets its value from a request; `_Unplanned` if not one we know."""
    kind, marker = hint, None
    if get_origin(hint) is Annotated:
        kind, *extras = get_args(hint)
        marker = next((e for e in extras if isinstance(e, params.Depends | FieldInfo)), None)
    if kind in (Request, HTTPConnection) and marker is None:
        return _request
    if isinstance(marker, params.Depends):
        call = marker.dependency
        if call is None or not marker.use_cache or not _is_async(call):
            raise _Unplanned
        return _Dependency(call, path_names)
    if isinstance(marker, params.Query) and _is_model(kind) and _plain_names(kind):
        return _query_model(kind)
    if isinstance(marker, params.Header) and kind == str | None and marker.alias is None:
        return _header(name.replace("_", "-") if marker.convert_underscores else name)
    if marker is None and _is_model(kind):
        return _json_body(kind)
    if marker is None and kind is str and name in path_names:
        return _path(name)
    raise _Unplanned


def _is_async(call: Callable[..., Any]) -> bool:
    """A coroutine function, or an object with one as `__call__` (FastAPI runs the others
    on a thread)."""
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - the method, not callable()
    )


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _plain_names(model: type[BaseModel]) -> bool:
    """The model's fields are named as in the query, and it ignores other names."""
    aliased = any(f.alias or f.validation_alias for f in model.model_fields.values())
    return not aliased and model.model_config.get("extra", "ignore") == "ignore"


async def _request(request: Request, _cache: dict[Any, Any]) -> Request:
    return request


class _Dependency:
    """A dependency's value, computed once per request (FastAPI caches it too)."""

    def __init__(self, call: Callable[..., Any], path_names: set[str]) -> None:
        self._call = call
        self._arguments = [(name, _step(name, hint, path_names)) for name, hint in _hints(call)]

    async def __call__(self, request: Request, cache: dict[Any, Any]) -> Any:
        call = self._call
        if call in cache:
            return cache[call]
        kwargs = {name: await step(request, cache) for name, step in self._arguments}
        cache[call] = await call(**kwargs)
        return cache[call]


def _path(name: str) -> _Step:
    async def step(request: Request, _cache: dict[Any, Any]) -> Any:
        return request.path_params[name]

    return step


def _header(name: str) -> _Step:
    async def step(request: Request, _cache: dict[Any, Any]) -> str | None:
        return request.headers.get(name)

    return step


def _query_model(model: type[BaseModel]) -> _Step:
    """The query string as FastAPI reads it into a model: list fields take every value of
    their name, the others the last one; names the model does not have are left out."""
    lists = {
        name
        for name, field in model.model_fields.items()
        if get_origin(field.annotation) is list
        or any(get_origin(a) is list for a in get_args(field.annotation))
    }

    async def step(request: Request, _cache: dict[Any, Any]) -> BaseModel:
        query = request.query_params
        values: dict[str, Any] = {}
        for name in model.model_fields.keys() & query.keys():
            values[name] = query.getlist(name) if name in lists else query[name]
        try:
            return model.model_validate(values)
        except ValidationError:
            raise _Unplanned from None

    return step


def _json_body(model: type[BaseModel]) -> _Step:
    async def step(request: Request, _cache: dict[Any, Any]) -> BaseModel:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        body = await request.body()
        if media_type != "application/json" or not body:
            raise _Unplanned
        try:
            return model.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # JSONDecodeError is a ValueError
            raise _Unplanned from None

    return step
