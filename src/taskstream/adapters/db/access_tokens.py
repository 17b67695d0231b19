"""Personal access tokens in SQL: stored as digests, every read scoped to one user."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from taskstream.adapters.db.tables import access_tokens, users
from taskstream.app.access_tokens import AccessToken
from taskstream.app.ports import Principal

USE_NOTED_EVERY = timedelta(minutes=1)
"""A token's last use is written at most this often (a read per request, not a write)."""

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskstream.adapters.db.database import Database


def _token(row: RowMapping) -> AccessToken:
    return AccessToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


class SqlAccessTokenStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, token: AccessToken, token_hash: str, limit: int) -> bool:
        async with self._database.transaction() as conn:
            # Locking the user's row serialises concurrent creations on PostgreSQL.
            await conn.execute(
                select(users.c.id).where(users.c.id == token.user_id).with_for_update()
            )
            active = (
                await conn.execute(
                    select(func.count())
                    .select_from(access_tokens)
                    .where(
                        access_tokens.c.user_id == token.user_id,
                        access_tokens.c.revoked_at.is_(None),
                    )
                )
            ).scalar_one()
            if active >= limit:
                return False
            await conn.execute(
                insert(access_tokens).values(
                    id=token.id,
                    user_id=token.user_id,
                    name=token.name,
                    token_hash=token_hash,
                    created_at=token.created_at,
                )
            )
        return True

    async def of_user(self, user_id: str) -> list[AccessToken]:
        async with self._database.read() as conn:
            rows = (
                await conn.execute(
                    select(access_tokens)
                    .where(access_tokens.c.user_id == user_id, access_tokens.c.revoked_at.is_(None))
                    .order_by(access_tokens.c.created_at, access_tokens.c.id)
                )
            ).all()
        return [_token(row._mapping) for row in rows]

    async def revoke(self, user_id: str, token_id: str, now: datetime) -> bool:
        async with self._database.transaction() as conn:
            result = await conn.execute(
                update(access_tokens)
                .where(
                    access_tokens.c.id == token_id,
                    access_tokens.c.user_id == user_id,
                    access_tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        return bool(result.rowcount)

    async def principal(self, token_hash: str, now: datetime) -> Principal | None:
        async with self._database.read() as conn:
            row = (
                await conn.execute(
                    select(
                        access_tokens.c.id,
                        access_tokens.c.last_used_at,
                        users.c.id.label("user_id"),
                        users.c.timezone,
                    )
                    .join(users, users.c.id == access_tokens.c.user_id)
                    .where(
                        access_tokens.c.token_hash == token_hash,
                        access_tokens.c.revoked_at.is_(None),
                    )
                )
            ).first()
        if row is None:
            return None
        if row.last_used_at is None or now - row.last_used_at > USE_NOTED_EVERY:
            await self._used(row.id, now)
        return Principal(user_id=row.user_id, timezone=row.timezone)

    async def _used(self, token_id: str, now: datetime) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(
                update(access_tokens).where(access_tokens.c.id == token_id).values(last_used_at=now)
            )
