"""Personal access tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from taskstream.app.access_tokens import NAME_MAX, AccessToken
from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser, LoggedInUser
from taskstream.entrypoints.api.schemas import NOT_BLANK_PATTERN, Problem

router = APIRouter(tags=["tokens"])

_TokenId = Annotated[str, Path(max_length=36)]
_ONE: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    404: {"model": Problem, "description": "No such token among yours."},
}


class TokenCreate(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(  # the use case checks the limit with its own code; the schema states it
        max_length=10 * NAME_MAX,
        examples=["Desktop MCP client"],
        json_schema_extra={"maxLength": NAME_MAX, "pattern": NOT_BLANK_PATTERN},
    )


class AccessTokenPublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: AccessToken) -> AccessTokenPublic:
        return cls(
            id=token.id,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
        )


class AccessTokenCreated(AccessTokenPublic):
    token: str = Field(description="The secret: shown this once, send it as a bearer token.")


class AccessTokensPublic(BaseModel):
    data: list[AccessTokenPublic] = Field(description="Oldest first; revoked ones are gone.")


@router.post(
    "/tokens",
    name="create",
    status_code=status.HTTP_201_CREATED,
    responses={401: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}},
)
async def create_token(
    body: TokenCreate, principal: LoggedInUser, container: ContainerDep, response: Response
) -> AccessTokenCreated:
    """A personal access token for MCP clients (`taskstream mcp`, or /mcp over HTTP)."""
    token, secret = await container.access_tokens.create(principal.user_id, body.name)
    response.headers["Location"] = f"/api/v1/tokens/{token.id}"
    public = AccessTokenPublic.of(token)
    return AccessTokenCreated(**public.model_dump(), token=secret)


@router.get("/tokens", name="list", responses={401: {"model": Problem}})
async def list_tokens(principal: CurrentUser, container: ContainerDep) -> AccessTokensPublic:
    """Your personal access tokens (without their secrets)."""
    tokens = await container.access_tokens.of_user(principal.user_id)
    return AccessTokensPublic(data=[AccessTokenPublic.of(t) for t in tokens])


@router.delete(
    "/tokens/{token_id}", name="revoke", status_code=status.HTTP_204_NO_CONTENT, responses=_ONE
)
async def revoke_token(token_id: _TokenId, principal: CurrentUser, container: ContainerDep) -> None:
    """Revoke a token: it stops working at once."""
    await container.access_tokens.revoke(principal.user_id, token_id)
