"""Opaque cursors of newest-first keyset pages: a (moment, sequence) position and its kind."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from taskstream.app.queries import cursor_moment, cursor_seq, read_cursor
from taskstream.domain.errors import ValidationFailed


def encode_keyset(kind: str, after: tuple[datetime, int]) -> str:
    """The cursor of the page after `after` in a listing of `kind` ("activity", "inbox")."""
    moment, seq = after
    raw = json.dumps([kind, moment.isoformat(), seq], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_keyset(kind: str, cursor: str) -> tuple[datetime, int]:
    """The position in `cursor`; refused when it is not one `encode_keyset(kind)` made."""
    payload = read_cursor(cursor)
    if not isinstance(payload, list) or len(payload) != 3 or payload[0] != kind:
        raise ValidationFailed.of(
            "cursor", "cursor_invalid", "This cursor is not one this API gave out."
        )
    return cursor_moment(payload[1]), cursor_seq(payload[2])
