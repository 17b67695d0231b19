"""Sign-up, log-in, refresh, log-out and who-am-I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser
from taskstream.entrypoints.api.schemas import (
    LogIn,
    Problem,
    RefreshIn,
    SignUp,
    TokenPublic,
    UserPublic,
)

router = APIRouter(tags=["auth"])
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not logged in, or the token is invalid."}
}


@router.post(
    "/auth/signup",
    name="signup",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Problem}, 422: {"model": Problem}, 429: {"model": Problem}},
)
async def sign_up(body: SignUp, request: Request, container: ContainerDep) -> UserPublic:
    """Create an account. A taken e-mail address is a 409 `email_taken`: people need to
    know to log in instead; sign-ups are limited per address (429), so the answer cannot
    be used to list accounts at speed."""
    address = request.client.host if request.client else "unknown"
    user = await container.auth.sign_up(body.email, body.password, body.timezone, address)
    return UserPublic.of(user)


@router.post("/auth/login", name="login", responses={**_UNAUTHORIZED, 429: {"model": Problem}})
async def log_in(body: LogIn, request: Request, container: ContainerDep) -> TokenPublic:
    address = request.client.host if request.client else "unknown"
    pair = await container.auth.log_in(body.email, body.password, address)
    return TokenPublic(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/refresh", name="refresh", responses=_UNAUTHORIZED)
async def refresh(body: RefreshIn, container: ContainerDep) -> TokenPublic:
    pair = await container.auth.refresh(body.refresh_token)
    return TokenPublic(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/logout", name="logout", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(body: RefreshIn, container: ContainerDep) -> None:
    await container.auth.log_out(body.refresh_token)


users = APIRouter(tags=["users"])


@users.get("/users/me", name="me", responses=_UNAUTHORIZED)
async def who_am_i(principal: CurrentUser, container: ContainerDep) -> UserPublic:
    return UserPublic.of(await container.auth.who_am_i(principal.user_id))
