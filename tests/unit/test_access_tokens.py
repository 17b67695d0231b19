"""Access tokens: a remembered token is refused once it expires, like any other."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from taskstream.adapters.security import JwtTokens
from taskstream.app.ports import Principal
from taskstream.domain.errors import Unauthorized

ADA = Principal("6c1b0f5e-1111-4b53-9a77-3a4f0c2f9d10", "Europe/Paris")


def _tokens() -> JwtTokens:
    return JwtTokens("s" * 48, "taskstream", "taskstream-api", timedelta(seconds=60))


def test_a_checked_token_is_remembered_until_it_expires() -> None:
    tokens = _tokens()
    # Issued 59 s ago with a lifetime of 60 s: valid for one more second.
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=59)
    token = tokens.issue(ADA, issued, "t1")
    valid = replace(ADA, expires_at=issued + timedelta(seconds=60))
    assert tokens.check(token) == valid
    assert tokens.check(token) == valid  # from memory
    time.sleep(1.2)
    with pytest.raises(Unauthorized) as refused:
        tokens.check(token)
    assert refused.value.code == "token_expired"


def test_a_forged_token_is_refused_even_next_to_a_remembered_one() -> None:
    tokens = _tokens()
    token = tokens.issue(ADA, datetime.now(UTC), "t2")
    assert tokens.check(token).user_id == ADA.user_id
    head, claims, signature = token.split(".")
    forged = f"{head}.{claims}.{signature[:-2]}AA"
    with pytest.raises(Unauthorized) as refused:
        tokens.check(forged)
    assert refused.value.code == "token_invalid"


def test_the_memory_stays_bounded() -> None:
    tokens = _tokens()
    now = datetime.now(UTC)
    for n in range(JwtTokens.REMEMBERED + 10):
        tokens.check(tokens.issue(ADA, now, f"t{n}"))
    assert len(tokens._checked) <= JwtTokens.REMEMBERED


def test_a_token_names_the_log_in_it_belongs_to() -> None:
    tokens = _tokens()
    token = tokens.issue(replace(ADA, session="family-1"), datetime.now(UTC), "t3")
    assert tokens.check(token).session == "family-1"
    assert tokens.check(tokens.issue(ADA, datetime.now(UTC), "t4")).session is None
