"""Which task a message means: "2", "#2", "the second one", "the last one", "the milk one".

Numbers and ordinals index the last listing shown in the conversation. Words are
matched against titles (the last listing first, then all the user's tasks), whole
words, ignoring case and a plural "s"; the tasks matching the most words win. A tie is
ambiguous (the planner asks which one), unless the tool prefers open tasks (complete)
or done ones (reopen) and exactly one of the tied tasks is in that state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from taskstream.chat.offline.dates import ORDINAL_WORDS
from taskstream.chat.offline.lexer import Kind, Token
from taskstream.chat.plan import KnownTask, PlanContext

STOPWORDS: Final = {
    "the",
    "a",
    "an",
    "my",
    "one",
    "ones",
    "task",
    "tasks",
    "todo",
    "todos",
    "item",
    "items",
    "thing",
    "entry",
    "called",
    "named",
    "titled",
    "about",
    "with",
    "for",
    "of",
    "on",
    "to",
    "as",
    "is",
    "was",
    "are",
    "it",
    "that",
    "this",
    "please",
    "i",
    "me",
    "from",
    "in",
    "list",
    "number",
    "no",
    "just",
    "now",
    "again",
    "already",
    "which",
    "thanks",
    "and",
    "up",
    "off",
    "be",
}


@dataclass(frozen=True, slots=True)
class Resolved:
    task: KnownTask
    full: bool = True  # every word of the reference is in the title (or by number)


@dataclass(frozen=True, slots=True)
class Ambiguous:
    options: tuple[KnownTask, ...]


@dataclass(frozen=True, slots=True)
class NotFound:
    why: str


@dataclass(frozen=True, slots=True)
class Missing:
    pass


Resolution = Resolved | Ambiguous | NotFound | Missing


def stem(text: str) -> str:
    value = text.lower().replace("\u2019", "'")
    if value.endswith("'s"):
        value = value[:-2]
    if len(value) > 4 and value.endswith("ies"):
        return value[:-3] + "y"
    if len(value) > 4 and value.endswith(("ches", "shes", "sses", "xes")):
        return value[:-2]
    if len(value) > 3 and value.endswith("s") and not value.endswith("ss"):
        return value[:-1]
    return value


def keywords(tokens: Sequence[Token]) -> list[str]:
    return [
        stem(t.text)
        for t in tokens
        if t.kind in {Kind.WORD, Kind.NUMBER} and t.norm not in STOPWORDS
    ]


def _title_words(title: str) -> set[str]:
    out: set[str] = set()
    for raw in title.replace("-", " ").replace("/", " ").split():
        cleaned = "".join(ch for ch in raw if ch.isalnum() or ch == "'")
        if cleaned:
            out.add(stem(cleaned))
    return out


def _pool(context: PlanContext) -> list[KnownTask]:
    seen: set[str] = set()
    pool: list[KnownTask] = []
    for task in (*context.listed, *context.tasks):
        if task.id not in seen:
            seen.add(task.id)
            pool.append(task)
    return pool


def _position(tokens: Sequence[Token]) -> int | None:
    """The 1-based position a reference names (-1 for "the last one"), or None."""
    content = [t for t in tokens if not (t.kind is Kind.WORD and t.norm in STOPWORDS)]
    content = [t for t in content if t.text not in {"#", ".", ",", "?", "!"}]
    if len(content) != 1:
        return None
    token = content[0]
    if token.kind in {Kind.NUMBER, Kind.ORDINAL, Kind.REF}:
        return token.value[0]
    if token.kind is Kind.WORD and token.norm in ORDINAL_WORDS:
        return ORDINAL_WORDS[token.norm]
    if token.kind is Kind.WORD and token.norm == "last":
        return -1
    return None


def resolve(
    tokens: Sequence[Token],
    context: PlanContext,
    *,
    quoted: str | None = None,
    prefer_done: bool | None = None,
) -> Resolution:
    """The task that `tokens` (a reference phrase) names."""
    if quoted is not None:
        exact = [t for t in _pool(context) if t.title.strip().lower() == quoted.strip().lower()]
        if len(exact) == 1:
            return Resolved(exact[0])
        return _by_words([stem(w) for w in quoted.split()], context, prefer_done, quoted)
    position = _position(tokens)
    if position is not None:
        if not context.listed:
            return NotFound("I haven't shown you a list yet, so I don't know which task that is.")
        if position == -1:
            return Resolved(context.listed[-1])
        if 1 <= position <= len(context.listed):
            return Resolved(context.listed[position - 1])
        return NotFound(f"The last list had {len(context.listed)} tasks; there is no {position}.")
    words = keywords(tokens)
    if not words:
        # "it", "that one", or nothing at all ("Done!"): the one task in focus, if one is.
        if len(context.listed) == 1:
            return Resolved(context.listed[0])
        return Missing()
    shown = " ".join(t.text for t in tokens if t.kind is not Kind.PUNCT)
    return _by_words(words, context, prefer_done, shown)


def resolve_several(
    tokens: Sequence[Token], context: PlanContext, *, prefer_done: bool | None = None
) -> tuple[KnownTask, ...] | None:
    """Several tasks: "1 and 3", "the first, second and fourth", "the team meeting and the
    dentist appointment" (each part naming one task by all its words); else None."""
    parts: list[list[Token]] = [[]]
    for token in tokens:
        if token.text == "," or (token.kind is Kind.WORD and token.norm in {"and", "&"}):
            parts.append([])
        else:
            parts[-1].append(token)
    if len(parts) < 2 or not all(parts):
        return None
    whole = resolve(tokens, context, prefer_done=prefer_done)
    if isinstance(whole, Resolved) and whole.full:
        return None  # "salt and pepper" is one task's title
    found: list[KnownTask] = []
    for part in parts:
        one = resolve(part, context, prefer_done=prefer_done)
        if not isinstance(one, Resolved) or not one.full:
            return None
        found.append(one.task)
    return tuple(found)


def _by_words(
    words: list[str], context: PlanContext, prefer_done: bool | None, shown: str
) -> Resolution:
    scored: list[tuple[int, KnownTask]] = []
    for task in _pool(context):
        title = _title_words(task.title)
        score = sum(1 for w in words if w in title)
        if score:
            scored.append((score, task))
    if not scored:
        return NotFound(f'I couldn\'t find a task matching "{shown.strip()}".')
    best = max(score for score, _ in scored)
    if best < math.ceil(len(words) / 2):
        return NotFound(f'I couldn\'t find a task matching "{shown.strip()}".')
    winners = [task for score, task in scored if score == best]
    if len(winners) > 1 and prefer_done is not None:
        preferred = [t for t in winners if t.done == prefer_done]
        winners = preferred or winners
    if len(winners) > 1:
        listed_ids = {t.id for t in context.listed}
        in_listing = [t for t in winners if t.id in listed_ids]
        winners = in_listing or winners
    if len(winners) > 1:
        exact = [t for t in winners if _title_words(t.title) == set(words)]
        winners = exact if len(exact) == 1 else winners
    if len(winners) == 1:
        return Resolved(winners[0], full=best == len(words))
    return Ambiguous(tuple(winners))


def which_question(options: Sequence[KnownTask]) -> str:
    listed = ", ".join(f'"{t.title}"' for t in options[:5])
    return f"Which one do you mean: {listed}?"
