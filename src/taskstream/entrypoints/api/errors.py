"""Every failure becomes an RFC 9457 problem with a stable code; bodies have a size limit."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskstream.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    PreconditionFailed,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[DomainError], int]] = [
    (ValidationFailed, 422),
    (NotFound, 404),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (Unauthorized, 401),
    (RateLimited, 429),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, ValidationFailed):
        errors = [{"field": p.field, "code": p.code, "message": p.message} for p in exc.problems]
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return problem(
        status, exc.code, exc.message, instance=request.url.path, errors=errors, headers=headers
    )


def _field_of(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_of(tuple(e.get("loc", ()))), "code": e["type"], "message": e["msg"]}
        for e in exc.errors()
    ]
    detail = errors[0]["message"] if len(errors) == 1 else "Some fields are invalid."
    if len(errors) == 1 and errors[0]["field"]:
        detail = f"{errors[0]['field']}: {detail}"
    return problem(422, "validation_failed", detail, instance=request.url.path, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette names the methods of one route of the path only
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem(exc.status_code, code, detail, instance=request.url.path, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API document lists for the request's path."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in item if method.isalpha()}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, whether or not they declare a length.

    Paths under `exempt_prefix` are not limited: the deliveries of a Dapr sidecar, which
    only the sidecar may make (their routes check its token before reading the body), and
    whose bulk deliveries hold up to a hundred events."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefix: str | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt_prefix is not None and scope["path"].startswith(self.exempt_prefix)
        ):
            await self.app(scope, receive, send)
            return
        too_large = f"The request body is larger than {self.max_bytes} bytes."
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = problem(413, "body_too_large", too_large, instance=scope.get("path"))
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised while the route reads its body; the HTTP error handler answers.
                    raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, counting_receive, send)


_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_NO_STORE: tuple[bytes, bytes] = (b"cache-control", b"no-store")
_NUL_IN_URL = re.compile(rb"%00|\x00")


class HardeningMiddleware:
    """Basic security headers on every response, `Cache-Control: no-store` on the auth
    routes (they answer with tokens), and a 422 for a NUL character anywhere in the URL
    (PostgreSQL cannot store or even compare one)."""

    def __init__(self, app: ASGIApp, no_store_prefix: str) -> None:
        self.app = app
        self.no_store_prefix = no_store_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        raw = scope.get("raw_path") or path.encode()
        if "\x00" in path or _NUL_IN_URL.search(raw) or _NUL_IN_URL.search(scope["query_string"]):
            response = problem(
                422,
                "nul_character",
                "The URL contains a NUL character (%00), which no value may hold.",
                instance=path.replace("\x00", ""),
            )
            await response(scope, receive, self._wrap(send, path))
            return
        await self.app(scope, receive, self._wrap(send, path))

    def _wrap(self, send: Send, path: str) -> Send:
        extra = [*_SECURITY_HEADERS]
        if path.startswith(self.no_store_prefix):
            extra.append(_NO_STORE)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in extra if name not in names),
                ]
            await send(message)

        return sending
