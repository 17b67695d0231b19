"""Dependencies of the routes, as Annotated aliases."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from taskstream.app.access_tokens import is_personal
from taskstream.app.ports import Principal
from taskstream.bootstrap import Container
from taskstream.domain.errors import Unauthorized, ValidationFailed


async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]

_bearer = HTTPBearer(auto_error=False, description="An access token from `auth-login`.")


async def _principal(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized(
            "Log in first and send the access token as 'Authorization: Bearer <token>'.",
            code="not_authenticated",
        )
    return await principal_of(container, credentials.credentials)


async def principal_of(container: Container, token: str) -> Principal:
    """Who a bearer token stands for: a personal access token, or an access token."""
    if is_personal(token):
        return await container.access_tokens.principal(token)
    return container.tokens.check(token)


CurrentUser = Annotated[Principal, Depends(_principal)]


async def _logged_in(
    principal: CurrentUser,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is not None and is_personal(credentials.credentials):
        raise Unauthorized(
            "A personal access token cannot create tokens: log in and use the access token "
            "from auth-login.",
            code="login_required",
        )
    return principal


LoggedInUser = Annotated[Principal, Depends(_logged_in)]
"""A user who logged in with a password, not a personal access token (so a leaked token
cannot mint others)."""

_ETAG_PATTERN = r'^\s*(?:(?:W/)?"([0-9]{1,9})"|\*)\s*$'
_ETAG = re.compile(_ETAG_PATTERN)


def _etag_schema(schema: dict[str, object]) -> None:
    """A header is text or absent, never null: a string with the ETag's pattern."""
    schema.pop("anyOf", None)
    schema.update(type="string", pattern=_ETAG_PATTERN)


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            description='The task\'s ETag, e.g. "3": the change applies only at that version.',
            json_schema_extra=_etag_schema,
        ),
    ] = None,
) -> int | None:
    found = None if if_match is None else _ETAG.match(if_match)
    if if_match is not None and found is None:
        raise ValidationFailed.of(
            "If-Match", "if_match_invalid", 'If-Match takes the ETag of the task, such as "3".'
        )
    return None if found is None or found.group(1) is None else int(found.group(1))


IfMatch = Annotated[int | None, Depends(_if_match)]


def etag(version: int) -> str:
    return f'"{version}"'
