"""The recurrence grammar: "every other Tuesday", "weekdays", "monthly on the 15th" → RRULE.

A rule is written in RFC 5545 form with its parts in the order the task domain keeps
(FREQ first, the rest alphabetical), without DTSTART: the task's due date starts the
series. `first_due` finds that start when the user gave none: the first occurrence on
or after today (after now, when a time of day is known).

Frequency adverbs protect titles: "pay rent monthly" repeats, "Create monthly report"
does not, because a bare "daily"/"weekly"/"monthly" only counts where a title word
does not follow it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from dateutil.rrule import rrule, rrulestr

from taskstream.chat.offline.dates import (
    MONTHS,
    ORDINAL_WORDS,
    SHORT_WEEKDAYS,
    WEEKDAYS,
    Clock,
    count_at,
    parse_day,
    word,
    words_at,
)
from taskstream.chat.offline.lexer import Kind, Token

DAY_CODES: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WORKDAYS: Final = ("MO", "TU", "WE", "TH", "FR")
_FREQ_UNITS: Final = {
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), "HOURLY"),
    **dict.fromkeys(("day", "days"), "DAILY"),
    **dict.fromkeys(("week", "weeks"), "WEEKLY"),
    **dict.fromkeys(("month", "months"), "MONTHLY"),
    **dict.fromkeys(("year", "years"), "YEARLY"),
}
_ADVERBS: Final = {
    "hourly": ("HOURLY", 1),
    "daily": ("DAILY", 1),
    "nightly": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "biweekly": ("WEEKLY", 2),
    "fortnightly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "quarterly": ("MONTHLY", 3),
    "yearly": ("YEARLY", 1),
    "annually": ("YEARLY", 1),
}
# Words that may follow a bare adverb or plural weekday without making it part of a title.
_FOLLOWERS: Final = {
    "at",
    "on",
    "in",
    "from",
    "starting",
    "until",
    "till",
    "and",
    "with",
    "tag",
    "tagged",
    "priority",
    "remind",
    "reminder",
    "after",
    "for",
    "by",
    "due",
    "before",
    "high",
    "low",
    "medium",
    "urgent",
    "p1",
    "p2",
    "p3",
    "p4",
    "please",
    "every",
    "each",
    "then",
    "morning",
    "evening",
    "afternoon",
    "night",
    "noon",
    "tomorrow",
    "today",
}
_PLURAL_WEEKDAYS: Final = {name + "s": n for name, n in WEEKDAYS.items()}


@dataclass(frozen=True, slots=True)
class Rule:
    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    bymonthday: tuple[int, ...] = ()
    bymonth: int | None = None
    count: int | None = None
    until: date | None = None

    def text(self) -> str:
        parts: dict[str, str] = {}
        if self.byday:
            parts["BYDAY"] = ",".join(self.byday)
        if self.bymonth is not None:
            parts["BYMONTH"] = str(self.bymonth)
        if self.bymonthday:
            parts["BYMONTHDAY"] = ",".join(str(day) for day in self.bymonthday)
        if self.count is not None:
            parts["COUNT"] = str(self.count)
        if self.interval != 1:
            parts["INTERVAL"] = str(self.interval)
        if self.until is not None:
            parts["UNTIL"] = self.until.strftime("%Y%m%d")
        return ";".join([f"FREQ={self.freq}", *(f"{k}={v}" for k, v in sorted(parts.items()))])

    def with_end(self, *, count: int | None = None, until: date | None = None) -> Rule:
        return Rule(
            self.freq, self.interval, self.byday, self.bymonthday, self.bymonth, count, until
        )


def interval_words(rule: Rule, tokens: Sequence[Token], unclaimed: Sequence[int]) -> int | None:
    """A "biweekly"/"fortnightly"/"quarterly" left in a title that sets a found rule's
    interval ("biweekly sync on Wednesdays"): its index, or None."""
    if rule.interval != 1:
        return None
    for k in unclaimed:
        adverb = _ADVERBS.get(word(tokens, k))
        if adverb is not None and adverb[1] > 1 and adverb[0] == rule.freq:
            return k
    return None


def first_due(rule: Rule, clock: Clock, start: date | None, at: time | None) -> date:
    """The first occurrence on or after `start` (default today), after now if timed."""
    begin = start or clock.today
    if start is None and at is not None and not (rule.byday or rule.bymonthday or rule.bymonth):
        # A rule with no fixed days starts on the first day its time is still ahead.
        if datetime.combine(begin, at) <= clock.now.replace(tzinfo=None):
            begin = begin + timedelta(days=1)
        start = begin
    dtstart = datetime.combine(begin, at or time(0, 0))
    # The interval counts from the first occurrence: "every 3 months on the 15th" starts on
    # the next 15th, whatever month today is in.
    interval = 1 if rule.byday or rule.bymonthday or rule.bymonth else rule.interval
    body = Rule(rule.freq, interval, rule.byday, rule.bymonthday, rule.bymonth).text()
    built = rrulestr(body, dtstart=dtstart, cache=False)
    assert isinstance(built, rrule)
    if start is None and at is not None:
        now = clock.now.replace(tzinfo=None, second=0, microsecond=0)
        found = built.after(now, inc=False)
    else:
        found = built.after(dtstart, inc=True)
    return begin if found is None else found.date()


def _weekday_list(tokens: Sequence[Token], i: int) -> tuple[int, tuple[str, ...]] | None:
    """ "monday", "mon and thu", "mondays, wednesdays and fridays"."""
    days: list[str] = []
    j = i
    while True:
        w = word(tokens, j)
        number = WEEKDAYS.get(w, SHORT_WEEKDAYS.get(w, _PLURAL_WEEKDAYS.get(w)))
        if number is None:
            break
        days.append(DAY_CODES[number])
        j += 1
        k = j + (j < len(tokens) and tokens[j].text == ",")
        k += word(tokens, k) in {"and", "&"} or (k < len(tokens) and tokens[k].text == "&")
        if _weekday_list_start(tokens, k):  # "mon and thu", "mon, thu", "mon wed fri"
            j = k
            continue
        break
    if not days:
        return None
    ordered = tuple(code for code in DAY_CODES if code in days)
    return j, ordered


def _weekday_list_start(tokens: Sequence[Token], i: int) -> bool:
    w = word(tokens, i)
    return w in WEEKDAYS or w in SHORT_WEEKDAYS or w in _PLURAL_WEEKDAYS


def _title_follows(tokens: Sequence[Token], i: int) -> bool:
    """True when the token at `i` reads as a title word (so an adverb before it is no rule)."""
    if i >= len(tokens):
        return False
    token = tokens[i]
    if token.kind is not Kind.WORD:
        return False
    return token.norm not in _FOLLOWERS


def _nth(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    w = word(tokens, i)
    if w == "last":
        return i + 1, -1
    if w in ORDINAL_WORDS and ORDINAL_WORDS[w] <= 5:
        return i + 1, ORDINAL_WORDS[w]
    if i < len(tokens) and tokens[i].kind is Kind.ORDINAL and tokens[i].value[0] <= 5:
        return i + 1, tokens[i].value[0]
    return None


def _of_month(tokens: Sequence[Token], i: int) -> int:
    """The end of "of the month" / "of every month" / "of each month" at `i`, or `i`."""
    if word(tokens, i) != "of":
        return i
    j = i + 1 + (word(tokens, i + 1) in {"the", "every", "each", "a"})
    return j + 1 if word(tokens, j) == "month" else i


def _day_of_month_rule(tokens: Sequence[Token], i: int) -> tuple[int, Rule] | None:
    """ "the 15th (of the month)", "the last day of the month", "the first monday of the month"."""
    j = i + (word(tokens, i) == "the")
    if words_at(tokens, j, "last", "day"):
        end = _of_month(tokens, j + 2)
        return end, Rule("MONTHLY", bymonthday=(-1,))
    nth = _nth(tokens, j)
    if nth is not None:
        k, n = nth
        w = word(tokens, k)
        weekday = WEEKDAYS.get(w, SHORT_WEEKDAYS.get(w))
        if weekday is not None:
            end = _of_month(tokens, k + 1)
            return end, Rule("MONTHLY", byday=(f"{n}{DAY_CODES[weekday]}",))
    if word(tokens, j) in ORDINAL_WORDS and _of_month(tokens, j + 1) > j + 1:
        return _of_month(tokens, j + 1), Rule(
            "MONTHLY", bymonthday=(ORDINAL_WORDS[word(tokens, j)],)
        )
    if j < len(tokens) and tokens[j].kind is Kind.ORDINAL and 1 <= tokens[j].value[0] <= 31:
        dom = tokens[j].value[0]
        k = j + 1 + (word(tokens, j + 1) == "of")
        month = MONTHS.get(word(tokens, k))
        if month is not None and k > j + 1:
            return k + 1, Rule("YEARLY", bymonth=month, bymonthday=(dom,))
        days, end = _more_days(tokens, j + 1, [dom])
        return _of_month(tokens, end), Rule("MONTHLY", bymonthday=tuple(days))
    return None


def _more_days(tokens: Sequence[Token], i: int, days: list[int]) -> tuple[list[int], int]:
    """ "the 1st and 15th", "the 1st, 10th and 20th": more days of the month after the first."""
    j = i
    while True:
        k = j + (j < len(tokens) and tokens[j].text == ",")
        k += word(tokens, k) in {"and", "&"}
        k += word(tokens, k) == "the"
        if j < k < len(tokens) and tokens[k].kind is Kind.ORDINAL and tokens[k].value[0] <= 31:
            days.append(tokens[k].value[0])
            j = k + 1
            continue
        return sorted(set(days)), j


def _month_and_day(tokens: Sequence[Token], i: int) -> tuple[int, Rule] | None:
    """ "march 5", "march 5th" as a yearly date."""
    month = MONTHS.get(word(tokens, i))
    if month is None or i + 1 >= len(tokens):
        return None
    nxt = tokens[i + 1]
    if nxt.kind in {Kind.NUMBER, Kind.ORDINAL} and 1 <= nxt.value[0] <= 31:
        return i + 2, Rule("YEARLY", bymonth=month, bymonthday=(nxt.value[0],))
    return None


def _after_every(tokens: Sequence[Token], i: int) -> tuple[int, Rule] | None:
    """What follows "every"/"each"."""
    interval = 1
    j = i
    if word(tokens, j) == "other":
        interval, j = 2, j + 1
    else:
        counted = count_at(tokens, j)
        if counted is not None and word(tokens, counted[0]) in _FREQ_UNITS:
            j, interval = counted
            interval = max(interval, 1)
    w = word(tokens, j)
    if w in {"weekday", "weekdays", "workday", "workdays"} or words_at(
        tokens, j, "business", "day"
    ):
        end = j + 1 + (w == "business")
        return end, Rule("WEEKLY", interval, byday=WORKDAYS)
    if w in {"weekend", "weekends"}:
        return j + 1, Rule("WEEKLY", interval, byday=("SA", "SU"))
    if w in {"morning", "afternoon", "evening", "night"} and interval == 1:
        return j, Rule("DAILY")  # the time of day is read next, as the due time
    if w in _FREQ_UNITS:
        freq = _FREQ_UNITS[w]
        end = j + 1
        if freq == "WEEKLY" and word(tokens, end) == "on":
            days = _weekday_list(tokens, end + 1)
            if days is not None:
                return days[0], Rule("WEEKLY", interval, byday=days[1])
        if freq == "MONTHLY" and word(tokens, end) == "on":
            by = _day_of_month_rule(tokens, end + 1)
            if by is not None and by[1].freq == "MONTHLY":
                found = by[1]
                return by[0], Rule("MONTHLY", interval, found.byday, found.bymonthday)
        if freq == "YEARLY" and word(tokens, end) == "on":
            yearly = _month_and_day(tokens, end + 1)
            if yearly is not None:
                return yearly
        return end, Rule(freq, interval)
    days = _weekday_list(tokens, j)
    if days is not None:
        return days[0], Rule("WEEKLY", interval, byday=days[1])
    if interval == 1:
        by = _day_of_month_rule(tokens, j)
        if by is not None:
            return by
        yearly = _month_and_day(tokens, j)
        if yearly is not None:
            return yearly
    return None


def parse_rule(tokens: Sequence[Token], i: int) -> tuple[int, Rule] | None:
    """A recurrence starting at `i` (its end, "until Dec 31", is `parse_rule_end`'s)."""
    return _parse_rule(tokens, i)


def _parse_rule(tokens: Sequence[Token], i: int) -> tuple[int, Rule] | None:
    w = word(tokens, i)
    if w in {"every", "each"}:
        return _after_every(tokens, i + 1)
    if w in _ADVERBS:
        freq, interval = _ADVERBS[w]
        j = i + 1
        if word(tokens, j) == "on":
            if freq == "WEEKLY":
                days = _weekday_list(tokens, j + 1)
                if days is not None:
                    return days[0], Rule("WEEKLY", interval, byday=days[1])
            if freq == "MONTHLY":
                by = _day_of_month_rule(tokens, j + 1)
                if by is not None and by[1].freq == "MONTHLY":
                    found = by[1]
                    return by[0], Rule("MONTHLY", interval, found.byday, found.bymonthday)
        if _title_follows(tokens, j):
            return None
        return j, Rule(freq, interval)
    if w in {"weekdays", "workdays"} or (w == "on" and word(tokens, i + 1) == "weekdays"):
        end = i + 1 + (w == "on")
        return end, Rule("WEEKLY", byday=WORKDAYS)
    if w == "weekends" or (w == "on" and word(tokens, i + 1) == "weekends"):
        return i + 1 + (w == "on"), Rule("WEEKLY", byday=("SA", "SU"))
    j = i + (w == "on")
    if word(tokens, j) in _PLURAL_WEEKDAYS:
        days = _weekday_list(tokens, j)
        if days is not None and not _title_follows(tokens, days[0]):
            return days[0], Rule("WEEKLY", byday=days[1])
    if word(tokens, i - 1) not in {"this", "next", "on", "by", "until", "before", "coming"}:
        days = _weekday_list(tokens, i)  # "gym mon wed fri at 7am": several days, each week
        if days is not None and len(days[1]) >= 2 and not _title_follows(tokens, days[0]):
            return days[0], Rule("WEEKLY", byday=days[1])
    # "on the last day of every month", "the 1st of every month"
    k = i + (w == "on")
    if word(tokens, k) == "the":
        by = _day_of_month_rule(tokens, k)
        if by is not None and by[0] > k + 2 and words_at(tokens, by[0] - 2, "every", "month"):
            return by
        if by is not None and by[0] > k + 2 and words_at(tokens, by[0] - 2, "each", "month"):
            return by
    return None


def parse_rule_end(
    tokens: Sequence[Token], i: int, clock: Clock
) -> tuple[int, int | None, date | None] | None:
    """ "until Dec 31" → UNTIL, "10 times" / "for 10 times" → COUNT."""
    w = word(tokens, i)
    if w in {"until", "till", "through"}:
        found = parse_day(tokens, i + 1, clock)
        if found is not None:
            return found[0], None, found[1]
        return None
    j = i + (w == "for")
    counted = count_at(tokens, j)
    if counted is not None and word(tokens, counted[0]) == "times":
        return counted[0] + 1, counted[1], None
    return None


def parse_anchor(tokens: Sequence[Token], i: int) -> int | None:
    """ "after I finish it", "after completion", "from completion" → anchored on completion."""
    w = word(tokens, i)
    if w not in {"after", "from"}:
        return None
    j = i + 1
    if word(tokens, j) in {"completion", "completing", "finishing", "done"}:
        return j + 1 + (word(tokens, j + 1) in {"it", "each"})
    if word(tokens, j) in {"each", "the", "last"} and word(tokens, j + 1) == "completion":
        return j + 2
    if word(tokens, j) in {"i", "it's", "its", "it", "i've", "you"}:
        k = j + 1 + (word(tokens, j + 1) in {"is", "was", "have", "am", "get", "got"})
        if word(tokens, k) in {
            "finish",
            "finished",
            "complete",
            "completed",
            "done",
            "do",
            "did",
            "check",
            "checked",
        }:
            end = k + 1
            if word(tokens, end) in {"it", "them", "this", "that"}:
                end += 1
            if word(tokens, end) == "off":
                end += 1
            return end
    return None
