"""Listings and searches: the filters a phrase names, and sets of tasks for bulk changes.

"what's due today?", "show high priority tasks tagged work sorted by due date", "find
the dentist task"; and the set in "complete all overdue tasks" or "move my morning
meetings to 2 PM", which becomes a `list_tasks` call with a `for_each` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from taskstream.chat.offline import references as refs
from taskstream.chat.offline.conversation import Message
from taskstream.chat.offline.dates import (
    WINDOWS,
    Clock,
    add_months,
    next_weekday,
    parse_day,
    week_start,
    weekday_at,
)
from taskstream.chat.offline.lexer import Kind, Token
from taskstream.chat.offline.slots import LEVELS
from taskstream.chat.plan import Plan, ToolCall

_LIST_VERBS: Final = {"list", "show", "display", "view", "see", "get", "give", "tell"}


_SEARCH_VERBS: Final = {"search", "find", "lookup", "locate"}


CONTENT_STOP: Final = refs.STOPWORDS | {
    "stuff",
    "things",
    "due",
    "date",
    "time",
    "priority",
    "all",
    "every",
    "everything",
    "my",
    "overdue",
    "late",
    "today",
    "today's",
    "tomorrow",
    "tomorrow's",
    "tonight",
    "tonight's",
    "morning",
    "afternoon",
    "evening",
    "done",
    "completed",
    "finished",
    "open",
    "pending",
    "remaining",
    "what",
    "what's",
    "which",
    "do",
    "have",
    "i",
    "any",
    "anything",
    "show",
    "list",
    "week",
    "month",
    "next",
    "this",
    "are",
    "there",
    "left",
    "still",
    "got",
    "need",
    "by",
    "before",
    "after",
    "until",
    "sorted",
    "sort",
    "order",
    "ordered",
    "first",
    "top",
    "high",
    "low",
    "medium",
    "urgent",
    "important",
    "weekend",
    "week's",
    "incomplete",
    "unfinished",
    "outstanding",
    "active",
    "closed",
    "past",
    "tagged",
    "tag",
    "in",
    "at",
    "on",
    "how",
    "many",
    "much",
    "me",
    "plate",
    "agenda",
    "schedule",
    "coming",
    "up",
    "upcoming",
    "soon",
    "newest",
    "oldest",
    "latest",
    "recent",
    "recently",
    "added",
    "created",
    "updated",
    "alphabetically",
    "deadline",
    "title",
    "name",
    "both",
    "them",
    "those",
    "these",
}


SET_MARKERS: Final = {"all", "everything", "both", "tasks", "todos", "items", "ones"}


@dataclass(slots=True)
class Listing:
    args: dict[str, Any]
    content: list[Token]


def _day_window(clock: Clock, first: date, last_exclusive: date) -> dict[str, Any]:
    return {"due_after": clock.iso(first), "due_before": clock.iso(last_exclusive)}


def filters(m: Message, lo: int, hi: int) -> Listing:
    """The filters a phrase names ("overdue", "today's", "high priority", "#work", ...)."""
    clock, today = m.clock, m.clock.today
    args: dict[str, Any] = {}
    status: str | None = "open"
    claimed = [False] * len(m.tokens)
    window: tuple[date, date] | None = None
    before: date | None = None
    after: date | None = None
    part: str | None = None
    priorities: list[str] = []
    tags: list[str] = []
    i = lo
    while i < hi:
        w = m.w(i)
        token = m.tokens[i]
        step = 1
        if token.kind is Kind.TAG:
            tags.append(token.norm)
        elif w in {"overdue", "late"} or m.at(i, "past", "due"):
            args["overdue"] = True
            status = None
            step = 2 if w == "past" else 1
        elif w in {"done", "completed", "finished", "closed", "complete", "checked", "did"}:
            status = "done"
        elif w in {"open", "pending", "remaining", "incomplete", "unfinished", "outstanding"}:
            status = "open" if "overdue" not in args else None
        elif w in {"tonight", "tonight's"}:
            part = "tonight"
        elif w in {"today", "today's"}:
            window = (today, today + timedelta(days=1))
        elif w in {"tomorrow", "tomorrow's"}:
            window = (today + timedelta(days=1), today + timedelta(days=2))
        elif w in {"this", "next", "coming"} and m.w(i + 1) in {"week", "week's"}:
            start = week_start(today) + timedelta(days=7 if w == "next" else 0)
            window, step = (start, start + timedelta(days=7)), 2
        elif w in {"this", "next"} and m.w(i + 1) == "month":
            first = add_months(today.replace(day=1), 1 if w == "next" else 0)
            window, step = (first, add_months(first, 1)), 2
        elif (w in {"this", "the"} and m.w(i + 1) == "weekend") or w == "weekend":
            saturday = next_weekday(today, 5, include_today=True)
            if today.weekday() == 6:
                saturday = today - timedelta(days=1)
            window, step = (saturday, saturday + timedelta(days=2)), 1 if w == "weekend" else 2
        elif (
            w in {"next", "coming", "upcoming"}
            and m.tokens[i + 1 : i + 2]
            and (m.tokens[i + 1].kind is Kind.NUMBER and m.w(i + 2) in {"days", "day"})
        ):
            n = m.tokens[i + 1].value[0]
            window, step = (today, today + timedelta(days=n + 1)), 3
        elif w in {"by", "before", "until", "till"} and parse_day(m.tokens, i + 1, clock):
            found = parse_day(m.tokens, i + 1, clock)
            assert found is not None
            before = found[1] + timedelta(days=1) if w != "before" else found[1]
            step = found[0] - i
        elif w == "after" and parse_day(m.tokens, i + 1, clock):
            found = parse_day(m.tokens, i + 1, clock)
            assert found is not None
            after, step = found[1] + timedelta(days=1), found[0] - i
        elif w in {"morning", "afternoon", "evening"}:
            part = w
        elif weekday_at(m.tokens, i, short_ok=m.w(i - 1) in {"on", "for"}) is not None:
            found = parse_day(m.tokens, i, clock)
            if found is not None:
                window, step = (found[1], found[1] + timedelta(days=1)), found[0] - i
        elif w == "p1" or w == "p2" or w == "p3" or w == "p4":
            priorities.append({"p1": "urgent", "p2": "high", "p3": "medium", "p4": "low"}[w])
        elif w in LEVELS and m.w(i + 1) in {"priority", "prio"}:
            priorities.append(LEVELS[w])
            step = 2
        elif w in LEVELS and m.w(i + 1) in {"and", "or"} and m.w(i + 2) in LEVELS:
            priorities.extend([LEVELS[w], LEVELS[m.w(i + 2)]])  # "high and urgent tasks"
            step = 3
        elif w in {"priority", "prio"} and m.w(i + 1) in LEVELS:
            priorities.append(LEVELS[m.w(i + 1)])
            step = 2
        elif w == "urgent":
            priorities.append("urgent")
        elif w == "important":
            priorities.extend(["urgent", "high"])
        elif w in {"tagged", "tag", "label", "labeled"} and m.w(i + 1):
            j = i + 1 + (m.w(i + 1) in {"with", "as"})
            while m.w(j):
                tags.append(m.w(j))  # "tagged home and garden"
                j += 1
                if m.w(j) not in {"and", "or"} or m.w(j + 1) in {"", *CONTENT_STOP}:
                    break
                j += 1
            step = max(j - i, 1)
        elif w in {"by", "sorted", "sort", "order", "ordered"} or m.at(i, "in", "order"):
            sort = _sort_at(m, i)
            if sort is not None:
                args["sort"], args["order"], end = sort
                step = end - i
            else:
                step = 1
                claimed[i] = False
                i += 1
                continue
        elif w in {"newest", "latest"} or m.at(i, "most", "recent") or m.at(i, "recently", "added"):
            args["sort"], args["order"] = "created", "desc"
        elif w == "oldest":
            args["sort"], args["order"] = "created", "asc"
        elif w == "alphabetically":
            args["sort"], args["order"] = "title", "asc"
        elif token.kind is Kind.NUMBER and m.w(i + 1) in {"tasks", "todos", "items"}:
            args["limit"] = token.value[0]
        elif w in {"top", "first", "next"} and i + 1 < hi and m.tokens[i + 1].kind is Kind.NUMBER:
            args["limit"], step = m.tokens[i + 1].value[0], 2
        elif w in {"about", "containing", "mentioning", "matching", "called", "named"}:
            rest = [t for t in m.tokens[i + 1 : hi] if t.kind is not Kind.PUNCT]
            if rest:
                args["text"] = " ".join(t.text for t in rest if t.norm not in {"the"}).strip()
                for k in range(i, hi):
                    claimed[k] = True
                break
        else:
            i += 1
            continue
        for k in range(i, min(i + step, hi)):
            claimed[k] = True
        i += step
    if status is not None:
        args["status"] = status
    if part is not None:
        day = window[0] if window is not None else today
        opens, closes = WINDOWS[part]
        args["due_after"] = clock.iso(day, opens)
        args["due_before"] = (
            clock.iso(day, closes) if closes is not None else clock.iso(day + timedelta(days=1))
        )
    elif window is not None:
        args.update(_day_window(clock, *window))
    if before is not None:
        args["due_before"] = clock.iso(before)
    if after is not None:
        args["due_after"] = clock.iso(after)
    if priorities:
        args["priority"] = [p for p in ("urgent", "high", "medium", "low") if p in priorities]
    if tags:
        args["tags"] = tags
    content = [
        m.tokens[k]
        for k in range(lo, hi)
        if not claimed[k]
        and m.tokens[k].kind in {Kind.WORD, Kind.NUMBER}
        and m.tokens[k].norm not in CONTENT_STOP
    ]
    return Listing(args, content)


def _sort_at(m: Message, i: int) -> tuple[str, str, int] | None:
    j = i
    if m.w(j) in {"sorted", "sort", "order", "ordered"}:
        j += 1
    if m.w(j) == "by":
        j += 1
    keys = {
        "due": ("due", "asc"),
        "date": ("due", "asc"),
        "deadline": ("due", "asc"),
        "priority": ("priority", "desc"),
        "importance": ("priority", "desc"),
        "title": ("title", "asc"),
        "name": ("title", "asc"),
        "created": ("created", "desc"),
        "creation": ("created", "desc"),
        "updated": ("updated", "desc"),
    }
    if m.w(j) in {"the"}:
        j += 1
    key = keys.get(m.w(j))
    if key is None or j == i:
        return None
    end = j + 1
    if m.w(end) in {"date", "time"}:
        end += 1
    return key[0], key[1], end


def text_of(content: Sequence[Token]) -> str:
    return " ".join(refs.stem(t.text) for t in content)


def _list_plan(m: Message, lo: int, hi: int) -> Plan:
    listing = filters(m, lo, hi)
    args = listing.args
    if listing.content and "text" not in args:
        args["text"] = text_of(listing.content)
    return Plan(calls=(ToolCall("list_tasks", args),))


_QUESTION_OPENERS: Final = (
    ("what's",),
    ("what", "is"),
    ("what", "are"),
    ("what", "do"),
    ("what", "have"),
    ("what", "tasks"),
    ("what", "else"),
    ("what", "did", "i"),
    ("which", "tasks"),
    ("which", "of"),
    ("which", "ones"),
    ("do", "i", "have"),
    ("have", "i", "got"),
    ("is", "there"),
    ("are", "there"),
    ("anything",),
    ("any",),
    ("how", "many"),
    ("what", "needs"),
    ("what", "should"),
    ("what", "must"),
)


_NEXT: Final = {"status": "open", "sort": "due", "order": "asc", "limit": 1}


def detect_list(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w in _LIST_VERBS:
        j = lo + 1 + (m.w(lo + 1) in {"me", "us"})
        if w in {"tell", "give"} and j == lo + 1:
            return None
        if m.w(j) in {"a", "the"} and m.w(j + 1) in {"list"}:
            j += 2
        return _list_plan(m, j, hi)
    if (
        w in {"agenda", "overdue", "todos", "tasks"}
        or m.at(lo, "my", "tasks")
        or (m.at(lo, "my", "todos") or m.at(lo, "my", "agenda") or m.at(lo, "my", "list"))
    ):
        return _list_plan(m, lo, hi)
    if (m.at(lo, "what's", "next") and lo + 2 == hi) or (
        m.at(lo, "what", "is", "next") and lo + 3 == hi
    ):
        return Plan(calls=(ToolCall("list_tasks", _NEXT),))
    for phrase in _QUESTION_OPENERS:
        if m.at(lo, *phrase):
            if phrase == ("any",) and m.w(lo + 1) not in {"tasks", "overdue", "todos"}:
                continue
            return _list_plan(m, lo + len(phrase), hi)
    if m.w(lo) in {"today's", "tomorrow's", "this"} and m.w(hi - 1) in {"tasks", "todos", "agenda"}:
        return _list_plan(m, lo, hi)
    return None


def detect_search(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    j: int | None = None
    if w in _SEARCH_VERBS:
        j = lo + 1
    elif w == "look" and m.w(lo + 1) in {"for", "up"}:
        j = lo + 2
    elif w in {"where's", "wheres"} or m.at(lo, "where", "is"):
        j = lo + (1 if w != "where" else 2)
    if j is None:
        return None
    j += m.w(j) in {"for", "me"}
    j += m.w(j) in {"for"}
    if m.w(j) in {"anything", "something", "everything"} and m.w(j + 1) in {
        "about",
        "on",
        "with",
        "mentioning",
        "containing",
        "called",
    }:
        j += 2
    if m.w(j) in {"all", "any", "my", "the"}:
        j += 1
    if m.w(j) in {"tasks", "task", "todos", "items"}:
        j += 1
        if m.w(j) in {
            "about",
            "with",
            "containing",
            "mentioning",
            "matching",
            "called",
            "named",
            "for",
        }:
            j += 1
            j += m.w(j) == "to"
        elif m.w(j) == "related" and m.w(j + 1) == "to":
            j += 2
    query_tokens = [t for t in m.tokens[j:hi] if t.kind is not Kind.PUNCT or t.text in {"-", "'"}]
    while query_tokens and query_tokens[0].norm in {"the", "a", "my"}:
        query_tokens.pop(0)
    while query_tokens and query_tokens[-1].norm in {"task", "tasks", "one", "todo"}:
        query_tokens.pop()
    if query_tokens and query_tokens[0].kind is Kind.QUOTED:
        return Plan(calls=(ToolCall("search_tasks", {"query": query_tokens[0].text}),))
    if not query_tokens:
        return Plan(question="What should I search for?")
    query = m.text[query_tokens[0].start : query_tokens[-1].end]
    return Plan(calls=(ToolCall("search_tasks", {"query": query}),))


def is_set(m: Message, lo: int, hi: int) -> bool:
    words = [m.w(k) for k in range(lo, hi)]
    if any(w in SET_MARKERS for w in words):
        return True
    if "my" in words:
        after = words[words.index("my") + 1 :]
        nouns = [w for w in after if w and w not in CONTENT_STOP]
        return bool(nouns) and nouns[-1].endswith("s") and not nouns[-1].endswith("ss")
    return False


def bulk(m: Message, lo: int, hi: int, each: ToolCall) -> Plan:
    listing = filters(m, lo, hi)
    args = listing.args
    if listing.content:
        args["text"] = text_of(listing.content)
    return Plan(calls=(ToolCall("list_tasks", args),), for_each=each)
