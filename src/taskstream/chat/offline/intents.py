"""From a message to a `Plan`: which tool, with which arguments.

The opening words choose the intent ("add", "show", "done with", "move", "delete", ...),
after polite fillers ("please", "can you") are skipped; a message that opens with no
known verb is a quick add, the whole message being the task ("Buy milk tomorrow 5pm").
Verbs that are also ordinary title words ("create", "move", "finish", "complete") act
only when what follows fits them: "Create monthly report" and "Move old monitor" are
new tasks, "move the dentist to Friday" reschedules one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from taskstream.chat.offline import references as refs
from taskstream.chat.offline.dates import (
    WINDOWS,
    Clock,
    add_months,
    next_weekday,
    parse_day,
    parse_when,
    week_start,
    weekday_at,
    word,
    words_at,
)
from taskstream.chat.offline.lexer import Kind, Token, tokenize
from taskstream.chat.offline.recurrence import first_due
from taskstream.chat.offline.slots import LEVELS, Slots, cut_title, scan
from taskstream.chat.plan import Plan, PlanContext, ToolCall

HELP: Final = (
    "I can add, list, search, change, complete, reopen and delete tasks, and set reminders. "
    'Try "call mom tomorrow at 6pm", "what\'s overdue?" or "done with the milk one".'
)
_FILLERS: Final = {
    "please",
    "hey",
    "ok",
    "okay",
    "so",
    "just",
    "now",
    "also",
    "and",
    "then",
    "oh",
    "um",
    "uh",
    "well",
    "alright",
    "kindly",
}
_POLITE: Final = (
    ("can", "you"),
    ("could", "you"),
    ("would", "you"),
    ("will", "you"),
    ("can", "u"),
    ("i'd", "like", "you", "to"),
    ("i", "want", "you", "to"),
    ("go", "ahead", "and"),
    ("help", "me"),
)
_YES: Final = {
    "yes",
    "y",
    "yeah",
    "yea",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "confirm",
    "confirmed",
    "correct",
    "affirmative",
    "absolutely",
    "definitely",
    "proceed",
    "k",
}
_YES_PHRASES: Final = (("go", "ahead"), ("do", "it"), ("of", "course"), ("sounds", "good"))
_NO: Final = {"no", "n", "nope", "nah", "cancel", "stop", "abort", "negative", "don't", "dont"}
_NO_PHRASES: Final = (("never", "mind"), ("not", "now"), ("keep", "it"), ("leave", "it"))
_GREETINGS: Final = {"hi", "hello", "hey", "howdy", "yo", "hiya", "greetings"}
_THANKS: Final = {"thanks", "thank", "cheers", "great", "cool", "nice", "awesome", "perfect"}

_LIST_VERBS: Final = {"list", "show", "display", "view", "see", "get", "give", "tell"}
_SEARCH_VERBS: Final = {"search", "find", "lookup", "locate"}
_DELETE_VERBS: Final = {"delete", "remove", "drop", "trash", "erase", "discard", "del", "cancel"}
_REOPEN_VERBS: Final = {"reopen", "undo", "uncheck", "unmark", "uncomplete", "unfinish", "restore"}
_DONE_WORDS: Final = {"done", "finished", "completed", "complete", "checked", "ticked"}
_NOT_DONE: Final = {"undone", "incomplete", "open", "unfinished", "uncompleted", "todo", "pending"}
_MOVE_VERBS: Final = {
    "move",
    "reschedule",
    "postpone",
    "push",
    "delay",
    "shift",
    "bump",
    "defer",
}
_CHANGE_VERBS: Final = {"change", "update", "edit", "set", "make", "modify", "mark"}
_CONTENT_STOP: Final = refs.STOPWORDS | {
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


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    tokens: list[Token]
    clock: Clock
    context: PlanContext

    def w(self, i: int) -> str:
        return word(self.tokens, i)

    def at(self, i: int, *phrase: str) -> bool:
        return words_at(self.tokens, i, *phrase)


def plan_message(text: str, context: PlanContext) -> Plan:
    tokens = tokenize(text)
    message = Message(text, tokens, Clock.of(context.now, context.timezone), context)
    if not any(t.kind is not Kind.PUNCT for t in tokens):
        return Plan(reply=HELP)
    if context.awaiting_confirmation:
        answer = _confirmation(message)
        if answer is not None:
            return Plan(confirmed=answer)
    chat = _small_talk(message)
    if chat is not None:
        return Plan(reply=chat)
    lo, hi = _bounds(message)
    if lo >= hi:
        return Plan(reply=HELP)
    for detect in _DETECTORS:
        plan = detect(message, lo, hi)
        if plan is not None:
            return plan
    return _add(message, lo, hi)


# --- conversation ---------------------------------------------------------------------


def _confirmation(m: Message) -> bool | None:
    words = [t.norm for t in m.tokens if t.kind is Kind.WORD]
    if not words:
        return None
    pairs = tuple(itertools.pairwise(words))
    if words[0] in _NO or any(p in pairs for p in _NO_PHRASES):
        return False
    if words[0] in _YES or any(p in pairs for p in _YES_PHRASES):
        return True
    if words[0] == "please" and len(words) <= 2:
        return True
    return None


def _small_talk(m: Message) -> str | None:
    words = [t.norm for t in m.tokens if t.kind is Kind.WORD]
    if not words:
        return None
    if all(w in _GREETINGS | {"there", "assistant", "bot"} for w in words):
        return "Hi! " + HELP
    if words[0] in _THANKS and len(words) <= 4:
        return "You're welcome!"
    if words in (["help"], ["what", "can", "you", "do"], ["how", "does", "this", "work"]):
        return HELP
    return None


def _bounds(m: Message) -> tuple[int, int]:
    """Skip polite openers and closers: "please", "can you", trailing "thanks" and "?"."""
    tokens = m.tokens
    lo, hi = 0, len(tokens)
    moved = True
    while moved and lo < hi:
        moved = False
        if m.w(lo) in _FILLERS or m.w(lo) in _GREETINGS or tokens[lo].text in {",", "!", "."}:
            lo, moved = lo + 1, True
            continue
        for phrase in _POLITE:
            if m.at(lo, *phrase):
                lo, moved = lo + len(phrase), True
                break
    while hi > lo and (
        (tokens[hi - 1].kind is Kind.PUNCT and tokens[hi - 1].text in {"?", "!", ".", ","})
        or (
            tokens[hi - 1].norm in {"please", "thanks", "thank", "you", "pls"}
            and tokens[hi - 1].kind is Kind.WORD
            and hi - 1 > lo
        )
    ):
        hi -= 1
    return lo, hi


# --- shared pieces ----------------------------------------------------------------------


def _due_arguments(slots: Slots, clock: Clock, *, update: bool = False) -> dict[str, Any]:
    """due_date / due_time / recurrence from what the pass found."""
    args: dict[str, Any] = {}
    when = slots.when
    rule = slots.recurrence
    if rule is not None:
        at = when.time if when is not None else None
        start = slots.start or (when.day if when is not None and when.dated else None)
        if update and start is None and at is None:
            return {"recurrence": _recurrence(rule.text(), slots)}
        if rule.freq == "HOURLY" and at is None:
            moment = clock.later(timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
            at, start = moment.time(), moment.date()
        first = first_due(rule, clock, start, at)
        args["due_date"] = first.isoformat()
        if at is not None:
            args["due_time"] = at.strftime("%H:%M")
        args["recurrence"] = _recurrence(rule.text(), slots)
        return args
    if when is not None:
        if when.day is not None and (when.dated or not update):
            args["due_date"] = when.day.isoformat()
        if when.time is not None:
            args["due_time"] = when.time.strftime("%H:%M")
    elif slots.start is not None:
        args["due_date"] = slots.start.isoformat()
    return args


def _recurrence(rule: str, slots: Slots) -> dict[str, str]:
    return {"rule": rule, "anchor": "completion" if slots.on_completion else "due"}


def _reminder_arguments(
    slots: Slots, clock: Clock, due: dict[str, Any], *, remind: bool
) -> list[dict[str, Any]]:
    reminders: list[dict[str, Any]] = [{"minutes_before": n} for n in slots.minutes_before]
    due_day = date.fromisoformat(due["due_date"]) if "due_date" in due else None
    for when in slots.remind_at:
        day = when.day if when.dated or due_day is None else due_day
        if day is not None and when.time is not None:
            reminders.append({"at": clock.iso(day, when.time)})
    if remind and not reminders and due_day is not None:
        if "due_time" in due:
            reminders.append({"minutes_before": 0})
        elif clock.moment(due_day, time(9, 0)) > clock.now:
            reminders.append({"at": clock.iso(due_day, time(9, 0))})
    return reminders


def _question_for(resolution: refs.Resolution, action: str) -> Plan:
    if isinstance(resolution, refs.Ambiguous):
        return Plan(question=refs.which_question(resolution.options))
    if isinstance(resolution, refs.NotFound):
        return Plan(reply=resolution.why)
    return Plan(question=f"Which task should I {action}?")


def _unclaimed(m: Message, slots: Slots, lo: int, hi: int) -> list[Token]:
    return [m.tokens[k] for k in range(lo, hi) if not slots.claimed[k]]


def _title(m: Message, slots: Slots, lo: int, hi: int) -> str:
    if slots.quoted is not None:
        return slots.quoted.strip()
    keep = [lo <= k < hi and not slots.claimed[k] for k in range(len(m.tokens))]
    return cut_title(m.text, m.tokens, keep)


# --- add -------------------------------------------------------------------------------

_TASK_NOUNS: Final = {"task", "todo", "to-do", "item", "reminder", "entry", "note"}


def _skip_task_noun(m: Message, i: int) -> int:
    """After "add"/"create": "a new task to", "task:", "a todo called"."""
    j = i
    if m.w(j) in {"a", "an", "another"}:
        j += 1
    if m.w(j) == "new":
        j += 1
    if m.w(j) == "to" and m.w(j + 1) == "do":
        j += 2
    elif m.w(j) in _TASK_NOUNS:
        j += 1
    else:
        return i
    if j < len(m.tokens) and m.tokens[j].text == ":":
        return j + 1
    if m.w(j) in {"to", "called", "named", "titled", "for", "that", "saying"}:
        return j + 1
    if m.w(j) == "with" and m.w(j + 1) in {"title", "name"}:
        return j + 2
    return j


def _add(m: Message, lo: int, hi: int, *, remind: bool = False) -> Plan:
    slots = scan(m.tokens, m.clock, lo, hi)
    title = _title(m, slots, lo, hi)
    if not title:
        return Plan(question="What should the task be called?")
    if remind and title.lower().startswith("to ") and slots.quoted is None:
        title = title[3:].strip()
    args: dict[str, Any] = {"title": title}
    args.update(_due_arguments(slots, m.clock))
    if slots.priority is not None and slots.priority != "none":
        args["priority"] = slots.priority
    if slots.tags:
        args["tags"] = list(slots.tags)
    reminders = _reminder_arguments(slots, m.clock, args, remind=remind)
    if reminders:
        args["reminders"] = reminders
    return Plan(calls=(ToolCall("add_task", args),))


def _detect_add(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w == "add":
        if m.w(lo + 1) in {"a", "an"} and m.w(lo + 2) in {"reminder", "alert"}:
            return None  # a reminder: _detect_reminder's
        if m.w(lo + 1) in {"tag", "tags", "label", "note", "description"} or (
            m.w(lo + 1) in {"a", "the"} and m.w(lo + 2) in {"tag", "label", "note", "description"}
        ):
            return None  # a change to a task
        return _add(m, _skip_task_noun(m, lo + 1), hi)
    if w in {"create", "new", "make", "schedule", "put"}:
        j = _skip_task_noun(m, lo + (w != "new")) if w != "new" else _skip_task_noun(m, lo)
        if w == "new" and m.w(lo + 1) in _TASK_NOUNS:
            j = _skip_task_noun(m, lo)
        if j > lo + 1 or (w == "new" and j > lo):
            return _add(m, j, hi)
        return None
    if w in {"todo", "task"} and lo + 1 < hi and m.tokens[lo + 1].text == ":":
        return _add(m, lo + 2, hi)
    if w in {"remind", "remember"} and m.w(lo + 1) == "me" and m.w(lo + 2) == "to":
        return _add(m, lo + 3, hi, remind=True)
    if w in {"remind", "remember"} and m.w(lo + 1) == "me" and m.w(lo + 2) in {"that", "i"}:
        return _add(m, lo + 3 - (m.w(lo + 2) == "i"), hi, remind=True)
    if w == "remind" and m.w(lo + 1) == "me" and m.w(lo + 2) not in {"about", "of", "regarding"}:
        return _add(m, lo + 2, hi, remind=True)  # "remind me in an hour to stretch"
    if w == "remember" and m.w(lo + 1) == "to":
        return _add(m, lo + 2, hi)
    if (w in {"don't", "dont"} or m.at(lo, "do", "not")) and "forget" in {
        m.w(lo + 1),
        m.w(lo + 2),
    }:
        j = lo + 2 + (w == "do")
        j += m.w(j) == "to"
        return _add(m, j, hi, remind=True)
    for phrase in (
        ("i", "need", "to"),
        ("i", "have", "to"),
        ("i", "must"),
        ("i", "should"),
        ("i", "gotta"),
        ("i've", "got", "to"),
        ("need", "to"),
        ("have", "to"),
        ("gotta",),
        ("must",),
        ("note", "to", "self"),
    ):
        if m.at(lo, *phrase):
            j = lo + len(phrase)
            if j < hi and m.tokens[j].text in {":", ","}:
                j += 1
            return _add(m, j, hi)
    return None


# --- listing ----------------------------------------------------------------------------


@dataclass(slots=True)
class Listing:
    args: dict[str, Any]
    content: list[Token]


def _day_window(clock: Clock, first: date, last_exclusive: date) -> dict[str, Any]:
    return {"due_after": clock.iso(first), "due_before": clock.iso(last_exclusive)}


def _listing(m: Message, lo: int, hi: int) -> Listing:
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
        elif w in {"done", "completed", "finished", "closed", "complete", "checked"}:
            status = "done"
        elif w in {"open", "pending", "remaining", "incomplete", "unfinished", "outstanding"}:
            status = "open" if "overdue" not in args else None
        elif w in {"today", "today's", "tonight", "tonight's"}:
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
        elif w == "urgent":
            priorities.append("urgent")
        elif w == "important":
            priorities.extend(["urgent", "high"])
        elif w in {"tagged", "tag", "label", "labeled"} and m.w(i + 1):
            j = i + 1 + (m.w(i + 1) in {"with", "as"})
            if m.w(j):
                tags.append(m.w(j))
                step = j + 1 - i
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
        and m.tokens[k].norm not in _CONTENT_STOP
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


def _text_of(content: Sequence[Token]) -> str:
    return " ".join(refs.stem(t.text) for t in content)


def _list_plan(m: Message, lo: int, hi: int) -> Plan:
    listing = _listing(m, lo, hi)
    args = listing.args
    if listing.content and "text" not in args:
        args["text"] = _text_of(listing.content)
    return Plan(calls=(ToolCall("list_tasks", args),))


_QUESTION_OPENERS: Final = (
    ("what's",),
    ("what", "is"),
    ("what", "are"),
    ("what", "do"),
    ("what", "have"),
    ("what", "tasks"),
    ("what", "else"),
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


def _detect_list(m: Message, lo: int, hi: int) -> Plan | None:
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
    for phrase in _QUESTION_OPENERS:
        if m.at(lo, *phrase):
            if phrase == ("any",) and m.w(lo + 1) not in {"tasks", "overdue", "todos"}:
                continue
            return _list_plan(m, lo + len(phrase), hi)
    if m.w(lo) in {"today's", "tomorrow's", "this"} and m.w(hi - 1) in {"tasks", "todos", "agenda"}:
        return _list_plan(m, lo, hi)
    return None


def _detect_search(m: Message, lo: int, hi: int) -> Plan | None:
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


# --- actions on one task or on a set ----------------------------------------------------

_SET_MARKERS: Final = {"all", "everything", "both", "tasks", "todos", "items", "ones"}


def _is_set(m: Message, lo: int, hi: int) -> bool:
    words = [m.w(k) for k in range(lo, hi)]
    if any(w in _SET_MARKERS for w in words):
        return True
    if "my" in words:
        after = words[words.index("my") + 1 :]
        nouns = [w for w in after if w and w not in _CONTENT_STOP]
        return bool(nouns) and nouns[-1].endswith("s") and not nouns[-1].endswith("ss")
    return False


def _bulk(m: Message, lo: int, hi: int, each: ToolCall) -> Plan:
    listing = _listing(m, lo, hi)
    args = listing.args
    if listing.content:
        args["text"] = _text_of(listing.content)
    return Plan(calls=(ToolCall("list_tasks", args),), for_each=each)


def _act(m: Message, lo: int, hi: int, tool: str, action: str, prefer_done: bool | None) -> Plan:
    several = refs.resolve_positions(m.tokens[lo:hi], m.context)
    if several is not None:
        return Plan(calls=tuple(ToolCall(tool, {"task_id": t.id}) for t in several))
    if _is_set(m, lo, hi):
        if tool == "reopen_task":
            return _bulk_with_status(m, lo, hi, ToolCall(tool, {}), "done")
        return _bulk(m, lo, hi, ToolCall(tool, {}))
    phrase = list(m.tokens[lo:hi])
    quoted = next((t.text for t in phrase if t.kind is Kind.QUOTED), None)
    found = refs.resolve(phrase, m.context, quoted=quoted, prefer_done=prefer_done)
    if isinstance(found, refs.Resolved):
        return Plan(calls=(ToolCall(tool, {"task_id": found.task.id}),))
    return _question_for(found, action)


def _bulk_with_status(m: Message, lo: int, hi: int, each: ToolCall, status: str) -> Plan:
    plan = _bulk(m, lo, hi, each)
    args = dict(plan.calls[0].arguments)
    args["status"] = status
    return Plan(calls=(ToolCall("list_tasks", args),), for_each=each)


def _strip_status_words(m: Message, lo: int, hi: int) -> int:
    """The end of a reference before "as done" / "is done" / "as complete"."""
    end = hi
    while end > lo and (m.w(end - 1) in _DONE_WORDS | {"as", "is", "now", "already", "off"}):
        end -= 1
    return end


def _detect_complete(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    start: int | None = None
    if w in {"done", "finished", "completed"} and m.w(lo + 1) in {"with", "the", "task", "my"}:
        start = lo + 1 + (m.w(lo + 1) == "with")
    elif w in {"done", "finished", "completed"}:
        start = lo + 1  # "Done!" alone: the task in focus, or a question
    elif w in {"i'm", "im"} and m.w(lo + 1) in {"done", "finished"}:
        start = lo + 2 + (m.w(lo + 2) == "with")
    elif m.at(lo, "i", "am") and m.w(lo + 2) in {"done", "finished"}:
        start = lo + 3 + (m.w(lo + 3) == "with")
    elif w in {"i", "i've", "ive", "we"}:
        j = lo + 1 + (m.w(lo + 1) in {"have", "just", "already"})
        j += m.w(j) in {"just", "already"}
        if m.w(j) in {"finished", "completed", "did", "done"}:
            start = j + 1
    elif w in {"check", "tick", "cross"} and "off" in {m.w(lo + 1), m.w(hi - 1)}:
        start = lo + 2 if m.w(lo + 1) == "off" else lo + 1
        return _act(m, start, hi - (m.w(hi - 1) == "off"), "complete_task", "complete", False)
    elif w == "mark" or w == "set":
        tail = {m.w(k) for k in range(lo + 1, hi)}
        if tail & {"done", "complete", "completed", "finished"} and not tail & {"not", "un"}:
            end = _strip_status_words(m, lo + 1, hi)
            return _act(m, lo + 1, end, "complete_task", "complete", False)
        return None
    elif w in {"complete", "finish", "close"}:
        start = lo + 1
        slots = scan(m.tokens, m.clock, start, hi)
        if slots.when is not None or slots.rule is not None:
            return None  # "complete the report by Friday" is a new task
        plan = _act(m, start, hi, "complete_task", "complete", False)
        if plan.reply is not None and w in {"finish", "complete"}:
            return None  # "Finish taxes": a new task, no such task to complete
        return plan
    elif m.w(hi - 1) in {"done", "finished", "completed"} and not any(
        m.w(k) in {"not", "when", "before", "after", "get", "getting"} for k in range(lo, hi)
    ):
        end = _strip_status_words(m, lo, hi)
        if end > lo:
            plan = _act(m, lo, end, "complete_task", "complete", False)
            return plan if plan.calls or plan.question else None
    if start is None:
        return None
    end = _strip_status_words(m, start, hi)
    return _act(m, start, end, "complete_task", "complete", False)


def _detect_reopen(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w in _REOPEN_VERBS or (w == "re" and m.w(lo + 2) == "open"):
        start = lo + 1 if w != "re" else lo + 3
        end = hi
        while end > start and m.w(end - 1) in {"again", "please"}:
            end -= 1
        return _act(m, start, end, "reopen_task", "reopen", True)
    if w in {"mark", "set"}:
        tail = [m.w(k) for k in range(lo + 1, hi)]
        joined = " ".join(tail)
        negative = any(n in tail for n in _NOT_DONE) or " not done" in f" {joined}"
        if negative or "not complete" in joined or "not finished" in joined:
            end = hi
            while end > lo + 1 and (
                m.w(end - 1) in _NOT_DONE | _DONE_WORDS | {"as", "not", "again", "un"}
                or m.tokens[end - 1].text == "-"
            ):
                end -= 1
            return _act(m, lo + 1, end, "reopen_task", "reopen", True)
    if m.w(hi - 1) in {"undone"} or (m.w(hi - 2) == "not" and m.w(hi - 1) in _DONE_WORDS):
        end = hi - 1 - (m.w(hi - 2) == "not")
        while end > lo and m.w(end - 1) in {"is", "as", "was", "actually", "still"}:
            end -= 1
        return _act(m, lo, end, "reopen_task", "reopen", True)
    return None


def _detect_delete(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w in _DELETE_VERBS:
        if m.w(lo + 1) in {"the", "a"} and m.w(lo + 2) in {"tag", "tags", "due", "reminder"}:
            return None
        if m.w(lo + 1) in {"tags", "tag", "due", "priority", "reminders", "recurrence"}:
            return None
        plan = _act(m, lo + 1, hi, "delete_task", "delete", None)
        if plan.reply is not None and not _definite(m.tokens[lo + 1 : hi]):
            return None  # "Delete old emails": a new task, there is no such task to delete
        return plan
    if m.at(lo, "get", "rid", "of"):
        return _act(m, lo + 3, hi, "delete_task", "delete", None)
    if m.at(lo, "throw", "away") or m.at(lo, "throw", "out"):
        return _act(m, lo + 2, hi, "delete_task", "delete", None)
    return None


# --- reminders --------------------------------------------------------------------------


def _detect_reminder(m: Message, lo: int, hi: int) -> Plan | None:
    j: int | None = None
    if m.w(lo) in {"remind", "ping", "alert", "notify"} and (
        m.w(lo + 1) == "me" and m.w(lo + 2) in {"about", "of", "regarding"}
    ):
        j = lo + 3
    if m.w(lo) in {"set", "add", "create", "put", "schedule"}:
        k = lo + 1 + (m.w(lo + 1) in {"a", "an"})
        if m.w(k) in {"reminder", "alert", "notification"}:
            if m.w(k + 1) == "to" and not _definite(m.tokens[k + 2 : hi]):
                return _add(m, k + 2, hi, remind=True)
            j = k + 1 + (m.w(k + 1) in {"for", "on", "about", "of"})
    if m.w(lo) == "reminder" and m.w(lo + 1) in {"for", "on", "about"}:
        j = lo + 2
    if m.w(lo) in {"remind", "ping", "alert", "notify"} and m.w(lo + 1) == "me" and j is None:
        # "ping me 15 minutes before the team meeting"
        before = next((k for k in range(lo + 2, hi) if m.w(k) in {"before", "ahead"}), None)
        if before is not None and _definite(m.tokens[before + 1 : hi]):
            j = lo + 2
    if j is None:
        return None
    slots = scan(m.tokens, m.clock, j, hi)
    phrase = _unclaimed(m, slots, j, hi)
    quoted = slots.quoted
    found = refs.resolve(phrase, m.context, quoted=quoted)
    if not isinstance(found, refs.Resolved):
        return _question_for(found, "remind you about")
    task_id = found.task.id
    if slots.minutes_before:
        return Plan(
            calls=(
                ToolCall(
                    "set_reminder", {"task_id": task_id, "minutes_before": slots.minutes_before[0]}
                ),
            )
        )
    when = slots.remind_at[0] if slots.remind_at else slots.when
    if when is None or when.time is None or when.day is None:
        return Plan(question=f'When should I remind you about "{found.task.title}"?')
    at = m.clock.iso(when.day, when.time)
    return Plan(calls=(ToolCall("set_reminder", {"task_id": task_id, "at": at}),))


# --- updates ----------------------------------------------------------------------------


def _detect_rename(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w == "rename":
        start = lo + 1
    elif (
        w in {"change", "update", "edit", "set"}
        and m.w(lo + 1) == "the"
        and (m.w(lo + 2) in {"title", "name"} and m.w(lo + 3) in {"of", "for", "on"})
    ):
        start = lo + 4
    else:
        return None
    split = next(
        (k for k in range(start, hi) if m.w(k) in {"to", "as", "into"} and k > start), None
    )
    if split is None:
        return Plan(question="What should the new title be?")
    new = [t for t in m.tokens[split + 1 : hi]]
    quoted = next((t.text for t in new if t.kind is Kind.QUOTED), None)
    title = quoted or (m.text[new[0].start : new[-1].end].strip() if new else "")
    if not title:
        return Plan(question="What should the new title be?")
    phrase = list(m.tokens[start:split])
    ref_quoted = next((t.text for t in phrase if t.kind is Kind.QUOTED), None)
    found = refs.resolve(phrase, m.context, quoted=ref_quoted)
    if not isinstance(found, refs.Resolved):
        return _question_for(found, "rename")
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, "title": title}),))


def _detect_description(m: Message, lo: int, hi: int) -> Plan | None:
    if not (
        m.w(lo) == "add"
        and m.w(lo + 1) in {"a", "the"}
        and m.w(lo + 2) in {"note", "description"}
        and m.w(lo + 3) in {"to", "on", "for"}
    ):
        return None
    colon = next((k for k in range(lo + 4, hi) if m.tokens[k].text == ":"), None)
    if colon is None:
        return Plan(question="What should the note say?")
    phrase = list(m.tokens[lo + 4 : colon])
    found = refs.resolve(phrase, m.context)
    if not isinstance(found, refs.Resolved):
        return _question_for(found, "add the note to")
    text = m.text[m.tokens[colon].end : m.tokens[hi - 1].end].strip()
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, "description": text}),))


_CLEARS: Final[tuple[tuple[tuple[str, ...], dict[str, Any]], ...]] = (
    (("no", "due", "date"), {"due_date": None, "due_time": None}),
    (("due", "date"), {"due_date": None, "due_time": None}),
    (("deadline",), {"due_date": None, "due_time": None}),
    (("due",), {"due_date": None, "due_time": None}),
    (("priority",), {"priority": "none"}),
    (("tags",), {"tags": []}),
    (("tag",), {"tags": []}),
    (("reminders",), {"reminders": []}),
    (("reminder",), {"reminders": []}),
    (("recurrence",), {"recurrence": None}),
    (("repeat",), {"recurrence": None}),
)


def _detect_update(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    move = w in _MOVE_VERBS
    clear = w in {"remove", "clear", "delete", "drop", "unset"}
    stop_repeat = (w in {"stop", "don't", "dont"} and m.w(lo + 1) in {"repeating", "repeat"}) or (
        m.at(lo, "no", "longer", "repeat")
    )
    if w in {"untag"}:
        return _update_one(m, lo + 1, hi, {"tags": []})
    if stop_repeat:
        start = lo + 2 + (m.w(lo) == "no")
        return _update_one(m, start, hi, {"recurrence": None})
    if clear:
        for phrase, change in _CLEARS:
            k = lo + 1 + (m.w(lo + 1) in {"the", "all"})
            if m.at(k, *phrase):
                end = k + len(phrase)
                end += m.w(end) in {"from", "of", "on", "for"}
                return _update_one(m, end, hi, dict(change))
        return None
    if w in {"prioritize", "prioritise"}:
        return _update_one(m, lo + 1, hi, {"priority": "high"})
    if w in {"deprioritize", "deprioritise"}:
        return _update_one(m, lo + 1, hi, {"priority": "low"})
    if w in {"tag", "label"}:
        return _update_changes(m, lo, hi, tag_verb=True)
    if w == "add" and (m.w(lo + 1) in {"tag", "tags", "label"} or m.at(lo + 1, "the", "tag")):
        return _update_changes(m, lo, hi, tag_verb=True)
    if move or w in _CHANGE_VERBS:
        return _update_changes(m, lo, hi, tag_verb=False)
    return None


def _update_one(m: Message, lo: int, hi: int, change: dict[str, Any]) -> Plan:
    if _is_set(m, lo, hi):
        return _bulk(m, lo, hi, ToolCall("update_task", change))
    phrase = list(m.tokens[lo:hi])
    quoted = next((t.text for t in phrase if t.kind is Kind.QUOTED), None)
    found = refs.resolve(phrase, m.context, quoted=quoted)
    if not isinstance(found, refs.Resolved):
        return _question_for(found, "change")
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, **change}),))


_REF_NOISE: Final = {
    "due",
    "date",
    "priority",
    "time",
    "deadline",
    "repeat",
    "repeats",
    "repeating",
    "recur",
    "recurring",
}
_DETERMINERS: Final = {"the", "my", "that", "this", "it", "number", "task", "no", "last", "#"}


def _definite(tokens: Sequence[Token]) -> bool:
    """Does a phrase point at a task that exists ("the report", "my", "2", "it")?"""
    content = [t for t in tokens if t.kind is not Kind.PUNCT or t.text == "#"]
    if not content:
        return False
    first = content[0]
    return first.kind in {Kind.NUMBER, Kind.ORDINAL, Kind.REF, Kind.QUOTED} or (
        first.norm in _DETERMINERS
    )


def _target_split(m: Message, lo: int, hi: int) -> int | None:
    """Where the new due starts in "move X to Friday" (the index of "to"), if anywhere."""
    for k in range(lo, hi):
        if m.w(k) in {"to", "till", "until", "for"} and parse_when(m.tokens, k + 1, m.clock):
            return k
    return None


def _update_changes(m: Message, lo: int, hi: int, *, tag_verb: bool) -> Plan | None:
    w = m.w(lo)
    start = lo + 1
    split = _target_split(m, start, hi) if w in _MOVE_VERBS else None
    described_until = hi if split is None else split
    is_set = _is_set(m, start, described_until)
    slots = scan(m.tokens, m.clock, start if split is None else split + 1, hi, tagged=not is_set)
    claimed = slots.claimed
    if split is not None:
        claimed[split] = True
    # "set the priority of X to high", "make X low": a bare level after "to"/"as"/at the end.
    for k in range(start, hi):
        if claimed[k] or m.w(k) not in LEVELS or m.w(k) in {"no"}:
            continue
        prev = m.w(k - 1)
        if prev in {"to", "as"} or (k == hi - 1 and w in {"make", "set", "mark"}):
            slots.priority = LEVELS[m.w(k)]
            claimed[k] = True
            if prev in {"to", "as"}:
                claimed[k - 1] = True
    if tag_verb:
        _tag_change(m, w, start, hi, slots)
    change: dict[str, Any] = _due_arguments(slots, m.clock, update=True)
    if slots.priority is not None:
        change["priority"] = slots.priority
    if slots.tags:
        change["tags"] = list(slots.tags)
    reminders = _reminder_arguments(slots, m.clock, change, remind=False)
    if reminders:
        change["reminders"] = reminders
    rest = [m.tokens[k] for k in range(start, described_until) if not claimed[k]]
    ref_tokens = [t for t in rest if t.norm not in _REF_NOISE]
    if ref_tokens and ref_tokens[0].norm in {"a", "an"}:
        return None  # "make a dentist appointment for Tuesday": something new
    if not change:
        if not refs.keywords(ref_tokens) and not _definite(ref_tokens):
            if w in _MOVE_VERBS | {"change", "update", "edit"}:
                return Plan(question="Which task should I change, and how?")
            return None
        if _names_task(m, ref_tokens):
            return Plan(question="What should I change about it?")
        return None
    if w in _MOVE_VERBS and not {"due_date", "due_time", "priority"} & change.keys():
        return None
    if is_set and not _single_named(m, ref_tokens):
        listing_hi = split if split is not None else _first_claimed_after(slots, start, hi)
        return _bulk(m, start, listing_hi, ToolCall("update_task", change))
    found = refs.resolve(ref_tokens, m.context, quoted=slots.quoted, prefer_done=False)
    if isinstance(found, refs.Resolved) and not found.full and w in {"change", "make", "set"}:
        return None  # "change the water filter monthly": a new task, not "Water the plants"
    if isinstance(found, refs.Resolved):
        return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, **change}),))
    if isinstance(found, refs.NotFound) and not _definite(ref_tokens):
        return None  # "Push code to prod friday": a new task
    return _question_for(found, "change")


def _tag_change(m: Message, w: str, start: int, hi: int, slots: Slots) -> None:
    """ "tag X with work", "tag X as home", "add tag work to X": the tags given."""
    claimed = slots.claimed
    if w == "add":
        k_to = next((k for k in range(start, hi) if m.w(k) in {"to", "on"}), None)
        if k_to is not None:
            values = [
                t.norm
                for t in m.tokens[start:k_to]
                if t.kind in {Kind.WORD, Kind.TAG}
                and t.norm not in {"tag", "tags", "label", "the", "a", "and"}
            ]
            for k in range(start, k_to + 1):
                claimed[k] = True
            slots.tags = values + [t for t in slots.tags if t not in values]
        return
    k_with = next((k for k in range(start, hi) if m.w(k) in {"with", "as"}), None)
    if k_with is not None:
        slots.tags = [
            t.norm
            for t in m.tokens[k_with + 1 : hi]
            if t.kind in {Kind.WORD, Kind.TAG} and t.norm not in {"and", "the", "a"}
        ]
        for k in range(k_with, hi):
            claimed[k] = True


def _single_named(m: Message, ref_tokens: Sequence[Token]) -> bool:
    words = [t for t in ref_tokens if t.norm not in _SET_MARKERS | {"my", "all"}]
    if not refs.keywords(words):
        return False
    found = refs.resolve(words, m.context)
    if not isinstance(found, refs.Resolved):
        return False
    title = {refs.stem(w) for w in found.task.title.split()}
    return all(k in title for k in refs.keywords(words))


def _first_claimed_after(slots: Slots, lo: int, hi: int) -> int:
    """Where the set's description ends: before "to 2 PM" (the change itself)."""
    seen_unclaimed = False
    for k in range(lo, hi):
        if not slots.claimed[k]:
            seen_unclaimed = True
        elif seen_unclaimed:
            return k
    return hi


def _names_task(m: Message, rest: Sequence[Token]) -> bool:
    found = refs.resolve(list(rest), m.context)
    return isinstance(found, refs.Resolved)


def _detect_due_statement(m: Message, lo: int, hi: int) -> Plan | None:
    """ "the rent is due on the 3rd": a task that exists, and its new due."""
    k = next(
        (k for k in range(lo + 1, hi - 1) if m.at(k, "is", "due") or m.at(k, "are", "due")), None
    )
    if k is None:
        return None
    slots = scan(m.tokens, m.clock, k + 2, hi)
    change = _due_arguments(slots, m.clock, update=True)
    if not change or any(not slots.claimed[j] for j in range(k + 2, hi)):
        return None
    found = refs.resolve(list(m.tokens[lo:k]), m.context, prefer_done=False)
    if not isinstance(found, refs.Resolved) or not _definite(m.tokens[lo:k]):
        return None
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, **change}),))


_DETECTORS: Final[tuple[Callable[[Message, int, int], Plan | None], ...]] = (
    _detect_reminder,
    _detect_description,
    _detect_rename,
    _detect_add,
    _detect_reopen,
    _detect_complete,
    _detect_delete,
    _detect_update,
    _detect_due_statement,
    _detect_search,
    _detect_list,
)


def now_text(now: datetime) -> str:
    return now.isoformat()
