"""Sign-up, log-in, tokens, refresh and log-out, through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from taskstream.settings import Settings
from tests.conftest import AdjustableClock
from tests.integration.conftest import TEST_SECRET, Login

PASSWORD = "correct horse battery"


async def _sign_up(client: httpx.AsyncClient, email: str = "ada@example.com") -> httpx.Response:
    return await client.post(
        "/auth/signup", json={"email": email, "password": PASSWORD, "timezone": "Europe/Paris"}
    )


async def _log_in(
    client: httpx.AsyncClient, email: str = "ada@example.com", password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def test_sign_up_normalises_the_email_and_hides_the_hash(client: httpx.AsyncClient) -> None:
    response = await _sign_up(client, " Ada@Example.COM ")
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["timezone"] == "Europe/Paris"
    assert "password" not in str(body)
    assert "hash" not in str(body)


async def test_sign_up_twice_is_a_conflict(client: httpx.AsyncClient) -> None:
    await _sign_up(client)
    response = await _sign_up(client, "ADA@example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


async def test_sign_up_reports_every_invalid_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signup",
        json={"email": "not-an-address", "password": "short", "timezone": "Nowhere/City"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    codes = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert codes == {
        ("email", "email_invalid"),
        ("password", "password_too_short"),
        ("timezone", "timezone_unknown"),
    }


async def test_password_is_stored_as_argon2id_with_owasp_parameters(
    client: httpx.AsyncClient, container: object
) -> None:
    await _sign_up(client)
    from taskstream.bootstrap import Container

    assert isinstance(container, Container)
    async with container.database.reader() as uow:
        user = await uow.users.by_email("ada@example.com")
    assert user is not None
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_log_in_and_who_am_i(client: httpx.AsyncClient) -> None:
    await _sign_up(client)
    response = await _log_in(client, "ADA@example.com")
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"


@pytest.mark.parametrize(
    ("email", "password"), [("ada@example.com", "wrong password"), ("nobody@example.com", PASSWORD)]
)
async def test_wrong_credentials_look_the_same(
    client: httpx.AsyncClient, email: str, password: str
) -> None:
    await _sign_up(client)
    response = await _log_in(client, email, password)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_credentials"
    assert response.json()["detail"] == "The e-mail address or the password is wrong."


async def test_requests_without_a_valid_token_are_refused(client: httpx.AsyncClient) -> None:
    missing = await client.get("/users/me")
    assert missing.status_code == 401
    assert missing.json()["code"] == "not_authenticated"
    assert missing.headers["www-authenticate"] == "Bearer"
    garbage = await client.get("/users/me", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "token_invalid"


def _forged(**overrides: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "someone",
        "iss": "taskstream",
        "aud": "taskstream-api",
        "iat": now,
        # Built when the tests are collected: valid long enough for any run to reach them.
        "exp": now + timedelta(days=1),
    }
    claims.update(overrides)
    secret = str(claims.pop("secret", TEST_SECRET))
    algorithm = str(claims.pop("alg", "HS256"))
    return jwt.encode(claims, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        _forged(iss="someone-else"),
        _forged(aud="another-api"),
        _forged(secret="a-different-secret-" + "y" * 64),
        _forged(alg="HS512"),
        jwt.encode({"sub": "someone", "iss": "taskstream", "aud": "taskstream-api"}, TEST_SECRET),
        jwt.encode(
            {"sub": "x", "iss": "taskstream", "aud": "taskstream-api"}, None, algorithm="none"
        ),
    ],
    ids=["issuer", "audience", "secret", "algorithm", "no-expiry", "alg-none"],
)
async def test_tokens_are_checked_strictly(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


async def test_an_expired_access_token_is_refused(
    client: httpx.AsyncClient, clock: AdjustableClock
) -> None:
    await _sign_up(client)
    clock.advance(timedelta(minutes=-16))  # issued 16 minutes ago: expired a minute ago
    tokens = (await _log_in(client)).json()
    clock.advance(timedelta(minutes=16))
    response = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


async def test_refresh_rotates_and_a_reused_token_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    await _sign_up(client)
    first = (await _log_in(client)).json()
    second = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
    )
    assert me.status_code == 200

    replayed = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "refresh_invalid"
    # The replay revoked the whole session, the newest token included.
    after = await client.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401


async def test_log_out_revokes_the_refresh_token(client: httpx.AsyncClient) -> None:
    await _sign_up(client)
    tokens = (await _log_in(client)).json()
    other_session = (await _log_in(client)).json()
    assert (
        await client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204
    refused = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    still = await client.post(
        "/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
    )
    assert still.status_code == 200


async def test_an_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, clock: AdjustableClock
) -> None:
    await _sign_up(client)
    tokens = (await _log_in(client)).json()
    clock.advance(timedelta(days=31))
    response = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401


async def test_log_in_attempts_are_limited_per_account(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _sign_up(client)
    for _ in range(settings.login_attempts_per_account):
        assert (await _log_in(client, password="wrong password")).status_code == 401
    limited = await _log_in(client)  # even the right password waits now
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= settings.login_window_seconds
    # Another account from the same address is not affected.
    await _sign_up(client, "bob@example.com")
    assert (await _log_in(client, "bob@example.com")).status_code == 200


async def test_log_in_attempts_are_limited_per_address(
    client: httpx.AsyncClient, settings: Settings, clock: AdjustableClock
) -> None:
    for i in range(settings.login_attempts_per_address):
        response = await _log_in(client, f"user{i}@example.com", "whatever password")
        assert response.status_code == 401
    limited = await _log_in(client, "fresh@example.com", "whatever password")
    assert limited.status_code == 429
    clock.advance(timedelta(seconds=settings.login_window_seconds + 1))
    assert (await _log_in(client, "fresh@example.com", "whatever password")).status_code == 401


async def test_tokens_of_one_user_do_not_open_another(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login("ada@example.com")
    bob = await login("bob@example.com")
    assert (await client.get("/users/me", headers=ada)).json()["email"] == "ada@example.com"
    assert (await client.get("/users/me", headers=bob)).json()["email"] == "bob@example.com"
