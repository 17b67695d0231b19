"""Users and the rules of their credentials. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from taskstream.domain.errors import Problems

PASSWORD_MIN: Final = 8
PASSWORD_MAX: Final = 256
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    password_hash: str
    timezone: str
    created_at: datetime


def clean_email(value: str, problems: Problems) -> str:
    email = value.strip().lower()
    if "\x00" in email or len(value) > 254 or not _EMAIL.match(email):
        problems.add("email", "email_invalid", "Give an e-mail address such as ada@example.com.")
    return email


def check_password(value: str, problems: Problems) -> None:
    if len(value) < PASSWORD_MIN:
        problems.add(
            "password", "password_too_short", f"A password has at least {PASSWORD_MIN} characters."
        )
    elif len(value) > PASSWORD_MAX:
        problems.add(
            "password", "password_too_long", f"A password has at most {PASSWORD_MAX} characters."
        )
