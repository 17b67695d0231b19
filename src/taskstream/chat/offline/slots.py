"""Slot extraction: one left-to-right pass that claims dates, rules, priorities, tags, reminders.

At each position the matchers are tried in a fixed order and the first that matches
claims its tokens (with the preposition before a date: "on", "at", "by", "due"). What
no matcher claims is the title (or a reference to a task), cut from the original text.
Quoted text is never read by a matcher: it is the title, verbatim.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Final

from taskstream.chat.offline.dates import (
    SHORT_WEEKDAYS,
    UNITS,
    WEEKDAYS,
    Clock,
    When,
    count_at,
    parse_when,
    with_part,
    word,
)
from taskstream.chat.offline.lexer import Kind, Token
from taskstream.chat.offline.recurrence import (
    Rule,
    interval_words,
    parse_anchor,
    parse_rule,
    parse_rule_end,
)

LEVELS: Final = {
    "urgent": "urgent",
    "top": "urgent",
    "highest": "urgent",
    "critical": "urgent",
    "high": "high",
    "medium": "medium",
    "normal": "medium",
    "mid": "medium",
    "moderate": "medium",
    "low": "low",
    "lowest": "low",
    "no": "none",
    "none": "none",
}
_ADVERB_INTERVALS: Final = {"biweekly": 2, "fortnightly": 2, "quarterly": 3}
P_LEVELS: Final = {"p1": "urgent", "p2": "high", "p3": "medium", "p4": "low"}
NUMBERED: Final = {1: "urgent", 2: "high", 3: "medium", 4: "low"}
# Words that name a priority on their own, where they stand apart from the title.
LONE_PRIORITY: Final = {
    "urgent": "urgent",
    "urgently": "urgent",
    "asap": "urgent",
    "important": "high",
}
_PRIORITY_NOUNS: Final = {"priority", "prio", "pri"}
_DATE_PREPOSITIONS: Final = {"on", "at", "by", "due", "for", "before"}
_START_WORDS: Final = {"starting", "from", "beginning", "begins", "starts"}
_REMIND_VERBS: Final = {"remind", "alert", "notify", "ping", "warn"}
_BEFORE: Final = {"before", "early", "earlier", "ahead", "prior", "beforehand"}
_NOT_TAGS: Final = {"it", "as", "with", "and", "the", "a", "an", "me", "this", "that"}


@dataclass(slots=True)
class Slots:
    """What one pass found, and which tokens it claimed."""

    claimed: list[bool]
    when: When | None = None
    start: date | None = None  # "starting Monday": where a series begins
    rule: Rule | None = None
    on_completion: bool = False
    count: int | None = None
    until: date | None = None
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    minutes_before: list[int] = field(default_factory=list)
    remind_at: list[When] = field(default_factory=list)
    quoted: str | None = None

    @property
    def recurrence(self) -> Rule | None:
        if self.rule is None:
            return None
        return self.rule.with_end(count=self.count, until=self.until)


def _claim(slots: Slots, start: int, end: int) -> int:
    for k in range(start, end):
        slots.claimed[k] = True
    return end


def _minutes(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    """ "30 minutes", "an hour", "half an hour", "2 days" as minutes."""
    counted = count_at(tokens, i)
    if counted is None:
        return None
    j, n = counted
    unit = UNITS.get(word(tokens, j))
    if unit is None or unit in {"months", "years"}:
        return None
    if n == 0:
        if unit != "hours":
            return None
        return j + 1, 30
    scale = {"minutes": 1, "hours": 60, "days": 1440, "weeks": 10080}[unit]
    return j + 1, n * scale


def _before_at(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    """ "30 minutes before", "an hour early", "the day before"."""
    if (
        word(tokens, i) == "the"
        and word(tokens, i + 1) in {"day", "night"}
        and word(tokens, i + 2) in _BEFORE
    ):
        return i + 3, 1440
    found = _minutes(tokens, i)
    if found is None:
        return None
    j, minutes = found
    if word(tokens, j) in _BEFORE:
        end = j + 1 + (word(tokens, j + 1) == "it")
        return end, minutes
    if word(tokens, j) == "in" and word(tokens, j + 1) == "advance":
        return j + 2, minutes
    return None


def _remind_lead(tokens: Sequence[Token], i: int) -> int:
    """The end of "remind me" / "with a reminder" / "and a reminder" at `i`, or `i`."""
    j = i
    if word(tokens, j) in {"and", "with", "plus", "also"}:
        j += 1
    if word(tokens, j) in {"a", "an"}:
        j += 1
    w = word(tokens, j)
    if w in _REMIND_VERBS:
        return j + 1 + (word(tokens, j + 1) == "me")
    if w in {"reminder", "reminders", "alert", "notification"}:
        return j + 1 + (word(tokens, j + 1) in {":"})
    return i


def _reminder(tokens: Sequence[Token], i: int, clock: Clock, slots: Slots) -> int | None:
    lead = _remind_lead(tokens, i)
    before = _before_at(tokens, lead)
    if before is not None:
        slots.minutes_before.append(before[1])
        return _claim(slots, i, before[0])
    if lead > i:
        found = parse_when(tokens, lead, clock)
        if found is not None:
            slots.remind_at.append(found[1])
            return _claim(slots, i, found[0])
    return None


def _tag_values(tokens: Sequence[Token], i: int) -> tuple[int, list[str]]:
    values: list[str] = []
    j = i
    while j < len(tokens):
        token = tokens[j]
        if token.kind is Kind.TAG or (
            token.kind is Kind.WORD and token.norm not in _NOT_TAGS and not _is_slot_word(token)
        ):
            values.append(token.norm)
        else:
            break
        j += 1
        k = j + (j < len(tokens) and tokens[j].text == ",")
        k += word(tokens, k) in {"and", "&"}
        if (
            j < k < len(tokens)
            and tokens[k].kind in {Kind.WORD, Kind.TAG}
            and (tokens[k].kind is Kind.TAG or not _is_slot_word(tokens[k]))
        ):
            j = k
            continue
        break
    return j, values


def _is_slot_word(token: Token) -> bool:
    return (
        token.norm in LEVELS
        or token.norm in P_LEVELS
        or token.norm in _PRIORITY_NOUNS
        or (token.norm in {"tomorrow", "today", "tonight", "every", "remind", "due", "on", "at"})
    )


def _tags(tokens: Sequence[Token], i: int, slots: Slots, *, tagged: bool) -> int | None:
    w = word(tokens, i)
    if not tagged and w in {"tagged", "labeled", "labelled"}:
        return None
    j = i
    if w in {"with", "and"} and word(tokens, i + 1) in {"tag", "tags", "label", "labels"}:
        j = i + 1
        w = word(tokens, j)
    if w in {"tag", "tags", "label", "labels", "tagged", "labeled", "labelled"}:
        k = j + 1
        if k < len(tokens) and tokens[k].text == ":":
            k += 1
        if word(tokens, k) in {"it", "this", "them"}:
            k += 1
        if word(tokens, k) in {"with", "as"}:
            k += 1
        end, values = _tag_values(tokens, k)
        if values:
            slots.tags.extend(v for v in values if v not in slots.tags)
            return _claim(slots, i, end)
    return None


def _level_at(tokens: Sequence[Token], i: int) -> tuple[int, str] | None:
    """ "high priority", "priority high", "priority: 2", "p1", "high-priority", "top prio"."""
    w = word(tokens, i)
    if w in P_LEVELS:
        return i + 1, P_LEVELS[w]
    if w in LEVELS:
        j = i + 1 + (i + 1 < len(tokens) and tokens[i + 1].text == "-")
        if word(tokens, j) in _PRIORITY_NOUNS:
            return j + 1, LEVELS[w]
        return None
    if w in _PRIORITY_NOUNS:
        j = i + 1
        if j < len(tokens) and tokens[j].text == ":":
            j += 1
        if word(tokens, j) in {"is", "to", "="}:
            j += 1
        if word(tokens, j) in LEVELS:
            return j + 1, LEVELS[word(tokens, j)]
        if word(tokens, j) in P_LEVELS:
            return j + 1, P_LEVELS[word(tokens, j)]
        if j < len(tokens) and tokens[j].kind is Kind.NUMBER and tokens[j].value[0] in NUMBERED:
            return j + 1, NUMBERED[tokens[j].value[0]]
    return None


def _priority(tokens: Sequence[Token], i: int, slots: Slots) -> int | None:
    start = i
    if word(tokens, i) in {"with", "as", "at"} and word(tokens, i + 1) in {"a", "an"}:
        i += 2
    elif word(tokens, i) in {"with", "as", "at", "a"}:
        i += 1
    found = _level_at(tokens, i)
    if found is not None:
        slots.priority = found[1]
        return _claim(slots, start, found[0])
    w = word(tokens, start)
    if w in LONE_PRIORITY and _stands_apart(tokens, start):
        slots.priority = LONE_PRIORITY[w]
        return _claim(slots, start, start + 1)
    return None


def _stands_apart(tokens: Sequence[Token], i: int) -> bool:
    """At an edge of the message or next to punctuation (so not an adjective in a title)."""
    before = tokens[i - 1] if i > 0 else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if before is None or after is None:
        return True
    return before.kind is Kind.PUNCT or after.kind is Kind.PUNCT


def _rule(tokens: Sequence[Token], i: int, clock: Clock, slots: Slots) -> int | None:
    if slots.rule is not None:
        return None
    found = parse_rule(tokens, i)
    if found is None:
        return None
    end, rule = found
    slots.rule = rule
    return _claim(slots, i, end)


def _rule_end(tokens: Sequence[Token], i: int, clock: Clock, slots: Slots) -> int | None:
    if slots.rule is None:
        return None
    found = parse_rule_end(tokens, i, clock)
    if found is None:
        return None
    end, count, until = found
    slots.count, slots.until = count, until
    return _claim(slots, i, end)


def _anchor(tokens: Sequence[Token], i: int, slots: Slots) -> int | None:
    end = parse_anchor(tokens, i)
    if end is None:
        return None
    slots.on_completion = True
    return _claim(slots, i, end)


def _when(tokens: Sequence[Token], i: int, clock: Clock, slots: Slots, lo: int) -> int | None:
    if word(tokens, i) in _START_WORDS:
        found = parse_when(tokens, i + 1, clock)
        if found is not None and found[1].dated and found[1].day is not None:
            slots.start = found[1].day
            if found[1].time is not None and (slots.when is None or slots.when.time is None):
                slots.when = When(None, found[1].time, found[1].part, False)
            return _claim(slots, i, found[0])
        return None
    after_rule = i > 0 and slots.rule is not None and slots.claimed[i - 1]
    found = parse_when(tokens, i, clock, after_day=after_rule)
    if found is None or _in_title(tokens, i, found[0], found[1], slots):
        return None
    end, when = found
    if slots.when is not None:
        when = _merge(slots.when, when)
    slots.when = when
    start = i
    while (
        start - 1 >= lo
        and not slots.claimed[start - 1]
        and word(tokens, start - 1) in (_DATE_PREPOSITIONS)
    ):
        start -= 1
    return _claim(slots, start, end)


# Words that may follow a date without making it part of the title.
_DATE_FOLLOWERS: Final = {
    "at",
    "on",
    "in",
    "and",
    "with",
    "about",
    "to",
    "for",
    "from",
    "before",
    "after",
    "by",
    "until",
    "re",
    "then",
    "please",
    "every",
    "remind",
    "reminder",
    "priority",
    "tag",
    "tagged",
    "morning",
    "afternoon",
    "evening",
    "night",
    "noon",
    *LEVELS,
    *P_LEVELS,
}
_SOFT_STARTS: Final = {*WEEKDAYS, *SHORT_WEEKDAYS, "weekend", "end", "the"}


def _in_title(tokens: Sequence[Token], i: int, end: int, when: When, slots: Slots) -> bool:
    """A date-like phrase that reads as part of the title: "the Monday meeting", "the 8pm
    show", "Sunday school", "the end of month report", "the weekend schedule"."""
    before = tokens[i - 1] if i > 0 else None
    if before is not None and not slots.claimed[i - 1] and before.norm in {"the", "a", "an"}:
        return tokens[i].kind is Kind.TIME or tokens[i].norm in _SOFT_STARTS
    if tokens[i].norm not in _SOFT_STARTS or when.time is not None:
        return False
    if before is not None and before.norm in _DATE_PREPOSITIONS | {"next", "this"}:
        return False
    after = tokens[end] if end < len(tokens) else None
    return after is not None and after.kind is Kind.WORD and after.norm not in _DATE_FOLLOWERS


def _merge(first: When, second: When) -> When:
    """Two pieces of one due ("tomorrow ... at 5pm"): the dated day, the given time."""
    day = first.day if first.dated else second.day
    dated = first.dated or second.dated
    at = second.time if second.time is not None and second.part is None else first.time
    at = at if at is not None else second.time
    if first.time is not None and not first.exact and second.part is not None:
        at = with_part(first.time, second.part, meridiem=False)  # "at 6 every morning"
    return When(day, at, first.part or second.part, dated)


def scan(
    tokens: Sequence[Token],
    clock: Clock,
    lo: int = 0,
    hi: int | None = None,
    *,
    tagged: bool = True,
) -> Slots:
    """Claim every slot in tokens[lo:hi]; `tagged=False` leaves "tagged X" to a listing."""
    hi = len(tokens) if hi is None else hi
    view = tokens[:hi]
    slots = Slots(claimed=[False] * len(tokens))
    i = lo
    while i < hi:
        token = tokens[i]
        if token.kind is Kind.QUOTED:
            if slots.quoted is None:
                slots.quoted = token.text
            slots.claimed[i] = True
            i += 1
            continue
        if token.kind is Kind.TAG:
            if token.norm not in slots.tags:
                slots.tags.append(token.norm)
            slots.claimed[i] = True
            i += 1
            continue
        end = (
            _reminder(view, i, clock, slots)
            or _tags(view, i, slots, tagged=tagged)
            or _priority(view, i, slots)
            or _anchor(view, i, slots)
            or _rule(view, i, clock, slots)
            or _rule_end(view, i, clock, slots)
            or _when(view, i, clock, slots, lo)
        )
        i = end if end is not None else i + 1
    if slots.rule is not None:
        unclaimed = [k for k in range(lo, hi) if not slots.claimed[k]]
        k = interval_words(slots.rule, tokens, unclaimed)
        if k is not None:
            rule = slots.rule
            interval = _ADVERB_INTERVALS[word(tokens, k)]
            slots.rule = replace(rule, interval=interval)
            slots.claimed[k] = True
    return slots


_EDGE_WORDS: Final = {
    "and",
    "with",
    "for",
    "due",
    "at",
    "on",
    "by",
    "to",
    "also",
    "then",
    "the",
    "sometime",
    "someday",
}


def cut_title(message: str, tokens: Sequence[Token], keep: Sequence[bool]) -> str:
    """The unclaimed runs of the message, joined by single spaces, trimmed of connectors."""
    kept = [k for k, flag in enumerate(keep) if flag]
    for a, b in itertools.pairwise(list(kept)):  # "fix the leak (urgent)": no empty "( )"
        if tokens[a].text in {"(", "["} and tokens[b].text in {")", "]"}:
            kept.remove(a)
            kept.remove(b)
    while kept and (
        (tokens[kept[-1]].kind is Kind.PUNCT and tokens[kept[-1]].text not in {")", "!", "?"})
        or tokens[kept[-1]].norm in _EDGE_WORDS
    ):
        kept.pop()
    while kept and tokens[kept[0]].kind is Kind.PUNCT and tokens[kept[0]].text != "(":
        kept.pop(0)
    pieces: list[str] = []
    run_start = run_end = -1
    previous = -2
    for k in kept:
        if k == previous + 1 and run_start >= 0:
            run_end = tokens[k].end
        else:
            if run_start >= 0:
                pieces.append(message[run_start:run_end])
            run_start, run_end = tokens[k].start, tokens[k].end
        previous = k
    if run_start >= 0:
        pieces.append(message[run_start:run_end])
    return " ".join(piece.strip() for piece in pieces).strip()
