"""The OpenAPI document, made to state what the server really does.

FastAPI describes every response as `application/json` and every request error as its
own `HTTPValidationError`; the server answers every error as an RFC 9457 problem
(`application/problem+json`, the `Problem` schema), may answer any request with a body
400 (it cannot be read: not UTF-8, not JSON) or 413 (over the size limit), any request
with parameters or a body 422, and any request that needs a token 401. The web client is
generated from this document, so it must not promise less or more than that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI

from taskstream.entrypoints.api.errors import PROBLEM_JSON

_PROBLEM_REF: Final = {"$ref": "#/components/schemas/Problem"}
_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_GENERIC: Final = {
    "400": "The body cannot be read: not UTF-8, or not JSON.",
    "401": "Not logged in, or the token is invalid.",
    "413": "The body is larger than the server takes.",
    "422": "A value is invalid; `errors` lists each one.",
}


Limits = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""Keywords to state on properties of component schemas: schema -> property -> keywords."""


def install(app: FastAPI, limits: Limits | None = None) -> None:
    """Serve the truthful document as the app's OpenAPI (built once, on first use), with
    `limits` that this server's settings decide (a chat message's length)."""
    generate = app.openapi
    done = False

    def openapi() -> dict[str, Any]:
        nonlocal done
        document = generate()  # FastAPI's, kept in app.openapi_schema after the first call
        if not done:
            truthful(document)
            _limited(document, limits or {})
            done = True
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def truthful(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the errors as the server sends them (see the module docstring)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path_item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is not None:
                _operation(operation)
    return document


def _operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    needed = []
    if "requestBody" in operation:
        needed += ["400", "413", "422"]
    if operation.get("parameters"):
        needed.append("422")
    if operation.get("security"):
        needed.append("401")
    for status in needed:
        responses.setdefault(status, {"description": _GENERIC[status]})
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            _problem(response, status)


def _problem(response: dict[str, Any], status: str) -> None:
    if response.get("description") in {None, "", "Validation Error"}:
        response["description"] = _GENERIC.get(status, "An error, as problem details.")
    response["content"] = {PROBLEM_JSON: {"schema": dict(_PROBLEM_REF)}}


def _limited(document: dict[str, Any], limits: Limits) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name, properties in limits.items():
        if name in schemas:  # a service without the route has no such schema
            for prop, keywords in properties.items():
                schemas[name]["properties"][prop].update(keywords)
