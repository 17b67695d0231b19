"""Tokens of a chat message, each with the span it came from.

The lexer never loses text: every token keeps its character span, so a title is cut
out of the original message with its casing, spacing and punctuation intact. Words are
matched whole ("mon" is a token only when typed on its own, never inside "monitor"),
and `norm` is the lower-case form with common misspellings of the grammar's own words
corrected ("tmrw" → "tomorrow"), so the grammar reads `norm` and titles read `text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    WORD = "word"
    NUMBER = "number"  # 12
    ORDINAL = "ordinal"  # 5th
    TIME = "time"  # 5pm, 5:30 pm, 17:00
    DATE = "date"  # 2026-12-05, 12/5
    QUOTED = "quoted"  # "Call Anna" (text without the quotes)
    TAG = "tag"  # #work (norm without the '#')
    REF = "ref"  # #2: a task by its number in the last listing
    PUNCT = "punct"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    norm: str
    start: int
    end: int
    # TIME: (hour, minute, meridiem given); DATE: (year or 0, month, day);
    # NUMBER, ORDINAL, REF: (n,).
    value: tuple[int, ...] = ()


_PATTERN: Final = re.compile(
    r"""
    "(?P<dq>[^"]+)" | “(?P<cq>[^”]+)” | (?<![\w'\u2019])'(?P<sq>[^']+)'(?![\w'\u2019])
  | (?P<iso>\b\d{4}-\d{2}-\d{2}\b)
  | (?P<slash>\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b)
  | (?P<time>\b\d{1,2}(?:[:.]\d{2})?\s*(?:a\.m\.|p\.m\.|am|pm)(?![a-z])
            | \b\d{1,2}:\d{2}\b)
  | \#(?P<ref>\d+)\b
  | \#(?P<tag>[^\W\d][\w/-]*)
  | (?P<ordinal>\b\d+(?:st|nd|rd|th)\b)
  | (?P<number>(?!2(?:morrow|moro|nite)\b)\d+)
  | (?P<dotted>[^\W\d_]\w*(?:\.[^\W\d_]\w*)+)
  | (?P<word>\b2(?:morrow|moro|nite)\b|[^\W\d_][\w'\u2019]*)
  | (?P<punct>[^\s\w])
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Misspellings and short forms of the grammar's words; titles keep what was typed.
TYPOS: Final = {
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "tmw": "tomorrow",
    "tomorow": "tomorrow",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "tomorrw": "tomorrow",
    "tomorro": "tomorrow",
    "tomrrow": "tomorrow",
    "2morrow": "tomorrow",
    "2moro": "tomorrow",
    "todya": "today",
    "tday": "today",
    "tdy": "today",
    "tonite": "tonight",
    "2nite": "tonight",
    "remidn": "remind",
    "rmind": "remind",
    "remnd": "remind",
    "reminde": "remind",
    "delte": "delete",
    "delet": "delete",
    "dleete": "delete",
    "compelte": "complete",
    "complte": "complete",
    "reschedual": "reschedule",
    "priorty": "priority",
    "prority": "priority",
    "priotity": "priority",
    "wendesday": "wednesday",
    "wednsday": "wednesday",
    "wensday": "wednesday",
    "thrusday": "thursday",
    "thurday": "thursday",
    "fridya": "friday",
    "firday": "friday",
    "satruday": "saturday",
    "teusday": "tuesday",
    "tuseday": "tuesday",
    "mondya": "monday",
    "sundya": "sunday",
    "shwo": "show",
    "sohw": "show",
    "lsit": "list",
    "lst": "list",
    "teh": "the",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "ty": "thanks",
    "u": "you",
    "whats": "what's",
    "wats": "what's",
    "wat's": "what's",
    "whta's": "what's",
    "overdeu": "overdue",
    "ovedue": "overdue",
    "evry": "every",
    "evrey": "every",
    "eveyr": "every",
}


def _time_value(text: str) -> tuple[int, int, int]:
    match = re.match(r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.m\.|p\.m\.|am|pm)?", text, re.IGNORECASE)
    assert match is not None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower().replace(".", "")
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return hour, minute, int(bool(meridiem))


def tokenize(message: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _PATTERN.finditer(message):
        group = match.lastgroup
        assert group is not None
        text = match.group(group)
        start, end = match.span()
        if group in {"dq", "cq", "sq"}:
            tokens.append(Token(Kind.QUOTED, text, text.lower(), start, end))
        elif group == "iso":
            year, month, day = (int(part) for part in text.split("-"))
            tokens.append(Token(Kind.DATE, text, text, start, end, (year, month, day)))
        elif group == "slash":
            parts = [int(part) for part in text.split("/")]
            year = 0 if len(parts) == 2 else parts[2] + (2000 if parts[2] < 100 else 0)
            tokens.append(Token(Kind.DATE, text, text, start, end, (year, parts[0], parts[1])))
        elif group == "time":
            tokens.append(Token(Kind.TIME, text, text.lower(), start, end, _time_value(text)))
        elif group == "ref":
            tokens.append(Token(Kind.REF, match.group(0), text, start, end, (int(text),)))
        elif group == "tag":
            tokens.append(Token(Kind.TAG, match.group(0), text.lower(), start, end))
        elif group == "ordinal":
            tokens.append(Token(Kind.ORDINAL, text, text.lower(), start, end, (int(text[:-2]),)))
        elif group == "number":
            tokens.append(Token(Kind.NUMBER, text, text, start, end, (int(text),)))
        elif group == "dotted":  # monday.com, e.g: one word that matches no grammar
            tokens.append(Token(Kind.WORD, text, text.lower(), start, end))
        elif group == "word":
            norm = text.lower().replace("\u2019", "'")
            tokens.append(Token(Kind.WORD, text, TYPOS.get(norm, norm), start, end))
        else:
            tokens.append(Token(Kind.PUNCT, text, text, start, end))
    return tokens
