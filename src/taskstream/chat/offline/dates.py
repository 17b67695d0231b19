"""The date and time grammar: "tomorrow evening", "next Friday 3pm", "in 2 hours", "the 5th".

Every parser takes the token list and a start index and returns ``(end, value)`` (end
exclusive) or None; nothing is consumed on a miss. Dates are computed in the user's
wall-clock time from the injected `Clock`; moments ("in 2 hours") are added on the
absolute time line and then read in the user's zone, so they are right across a
daylight-saving change. The conventions are listed in the package docstring.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from taskstream.chat.offline.lexer import Kind, Token

WEEKDAYS: Final = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
# Short forms count only where a date is expected ("on sun", "next wed", "every thu").
SHORT_WEEKDAYS: Final = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
MONTHS: Final = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
ORDINAL_WORDS: Final = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
NUMBER_WORDS: Final = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
}
UNITS: Final = {
    **dict.fromkeys(("minute", "minutes", "min", "mins", "m"), "minutes"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "h"), "hours"),
    **dict.fromkeys(("day", "days", "d"), "days"),
    **dict.fromkeys(("week", "weeks", "wk", "wks", "w"), "weeks"),
    **dict.fromkeys(("fortnight", "fortnights"), "fortnights"),
    **dict.fromkeys(("month", "months"), "months"),
    **dict.fromkeys(("year", "years", "yr", "yrs"), "years"),
}
# Times of day: what a bare "tomorrow evening" means, and the window a listing uses.
PARTS: Final = {
    "morning": time(9, 0),
    "noon": time(12, 0),
    "midday": time(12, 0),
    "afternoon": time(15, 0),
    "evening": time(18, 0),
    "night": time(20, 0),
    "tonight": time(20, 0),
}
WINDOWS: Final = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), None),
    "night": (time(17, 0), None),
    "tonight": (time(17, 0), None),
}
WORK_WEEK_END: Final = 4  # "end of the week" is Friday


@dataclass(frozen=True, slots=True)
class Clock:
    """Now, in the user's zone."""

    now: datetime
    tz: ZoneInfo

    @classmethod
    def of(cls, now: datetime, timezone: str) -> Clock:
        tz = ZoneInfo(timezone)
        return cls(now.astimezone(tz), tz)

    @property
    def today(self) -> date:
        return self.now.date()

    def moment(self, day: date, at: time | None = None) -> datetime:
        """The aware moment of a wall-clock time (a time in the spring-forward gap moves on)."""
        naive = datetime.combine(day, at or time(0, 0))
        return naive.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def later(self, delta: timedelta) -> datetime:
        """Now plus `delta` on the real time line, on the user's wall clock."""
        return (self.now.astimezone(UTC) + delta).astimezone(self.tz)

    def iso(self, day: date, at: time | None = None) -> str:
        return self.moment(day, at).isoformat()


@dataclass(frozen=True, slots=True)
class When:
    """A date, a wall-clock time, or both; `part` names a time of day ("morning")."""

    day: date | None = None
    time: time | None = None
    part: str | None = None
    dated: bool = True  # False when the day was only inferred from the time ("at 5pm")
    exact: bool = True  # False for a bare hour ("at 6") that a time of day may still move


Found = tuple[int, "When"]


def word(tokens: Sequence[Token], i: int) -> str:
    """The normalised word at `i`, or "" past the end or for a token that is not a word."""
    if 0 <= i < len(tokens) and tokens[i].kind is Kind.WORD:
        return tokens[i].norm
    return ""


def words_at(tokens: Sequence[Token], i: int, *phrase: str) -> bool:
    return all(word(tokens, i + k) == w for k, w in enumerate(phrase))


def count_at(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    """A count: "3", "three", "a", "an", "a couple of", "half an" (as 0)."""
    if i < len(tokens) and tokens[i].kind is Kind.NUMBER:
        return i + 1, tokens[i].value[0]
    w = word(tokens, i)
    if w == "half" and word(tokens, i + 1) in {"a", "an"}:
        return i + 2, 0
    if w == "a" and word(tokens, i + 1) == "couple":
        return (i + 3 if word(tokens, i + 2) == "of" else i + 2), 2
    if w == "a" and word(tokens, i + 1) == "few":
        return i + 2, 3
    if w in NUMBER_WORDS:
        return i + 1, NUMBER_WORDS[w]
    return None


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_weekday(today: date, weekday: int, *, include_today: bool = False) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekday_at(tokens: Sequence[Token], i: int, *, short_ok: bool) -> int | None:
    w = word(tokens, i)
    if w in WEEKDAYS:
        return WEEKDAYS[w]
    if short_ok and w in SHORT_WEEKDAYS:
        return SHORT_WEEKDAYS[w]
    return None


def _day_of_month(tokens: Sequence[Token], i: int) -> int | None:
    if i < len(tokens) and tokens[i].kind in {Kind.NUMBER, Kind.ORDINAL}:
        n = tokens[i].value[0]
        return n if 1 <= n <= 31 else None
    return None


def _year_at(tokens: Sequence[Token], i: int) -> int | None:
    if i < len(tokens) and tokens[i].kind is Kind.NUMBER and 2000 <= tokens[i].value[0] < 2100:
        return tokens[i].value[0]
    return None


def _month_day(clock: Clock, month: int, dom: int, year: int | None) -> date | None:
    """The next such date on or after today (or in the year given)."""
    try:
        if year is not None:
            return date(year, month, dom)
        candidate = date(clock.today.year, month, dom)
        if candidate < clock.today:
            candidate = date(clock.today.year + 1, month, dom)
    except ValueError:
        return None
    return candidate


def next_month_day(today: date, dom: int) -> date:
    """The next day-of-month `dom` on or after today, skipping months that lack it."""
    day = today.replace(day=1)
    for _ in range(13):
        if dom <= calendar.monthrange(day.year, day.month)[1]:
            candidate = day.replace(day=dom)
            if candidate >= today:
                return candidate
        day = add_months(day, 1)
    return today  # unreachable for 1..31


def parse_day(tokens: Sequence[Token], i: int, clock: Clock) -> tuple[int, date] | None:
    """A calendar day: today, tomorrow, (this/next) Friday, the 5th, Dec 5, end of month…"""
    today = clock.today
    w = word(tokens, i)
    if w in {"today", "tonight"}:
        return i + 1, today
    if w == "tomorrow":
        return i + 1, today + timedelta(days=1)
    if words_at(tokens, i, "day", "after", "tomorrow"):
        return i + 3, today + timedelta(days=2)
    if w == "the" and words_at(tokens, i + 1, "day", "after", "tomorrow"):
        return i + 4, today + timedelta(days=2)
    if i < len(tokens) and tokens[i].kind is Kind.DATE:
        given_year, given_month, given_day = tokens[i].value
        found = _month_day(clock, given_month, given_day, given_year or None)
        return None if found is None else (i + 1, found)
    if w in {"this", "next", "coming"} or (w == "the" and word(tokens, i + 1) == "coming"):
        j = i + 1 if w != "the" else i + 2
        qualifier = "next" if w == "next" else "this"
        wd = weekday_at(tokens, j, short_ok=True)
        if wd is not None:
            if qualifier == "this":
                return j + 1, next_weekday(today, wd, include_today=True)
            return j + 1, week_start(today) + timedelta(days=7 + wd)
        unit = word(tokens, j)
        if unit in {"week", "weeks"}:
            monday = week_start(today) + timedelta(days=7 if qualifier == "next" else 0)
            return j + 1, monday if qualifier == "next" else max(today, monday)
        if unit == "weekend":
            saturday = week_start(today) + timedelta(days=5 + (7 if qualifier == "next" else 0))
            return j + 1, saturday if saturday >= today else saturday + timedelta(days=7)
        if unit == "month" and qualifier == "next":
            return j + 1, add_months(today.replace(day=1), 1)
        if unit == "year" and qualifier == "next":
            return j + 1, date(today.year + 1, 1, 1)
        return None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    short_ok = word(tokens, i - 1) in {"on", "by", "until", "due"} or (
        nxt is None or nxt.kind in {Kind.PUNCT, Kind.TIME} or word(tokens, i + 1) == "at"
    )
    wd = weekday_at(tokens, i, short_ok=short_ok)
    if wd is not None:
        return i + 1, next_weekday(today, wd)
    if w == "the" and word(tokens, i + 1) in {"end", "weekend"}:
        return parse_day(tokens, i + 1, clock)
    if w in {"weekend"} and word(tokens, i - 1) in {"the", "on", "by"}:
        return i + 1, next_weekday(today, 5, include_today=True)
    if w in {"eod", "eow", "eom", "eoy"}:
        return i + 1, _end_of(today, {"eod": "day", "eow": "week", "eom": "month"}.get(w, "year"))
    if w == "end" and word(tokens, i + 1) == "of":
        j = i + 2 + (word(tokens, i + 2) in {"the", "this"})
        if word(tokens, j) == "next" and word(tokens, j + 1) in {"week", "month"}:
            unit = word(tokens, j + 1)
            ahead = today + timedelta(days=7) if unit == "week" else add_months(today, 1)
            return j + 2, _end_of(ahead, unit)
        unit = word(tokens, j)
        if unit in {"day", "week", "month", "year"}:
            return j + 1, _end_of(today, unit)
        return None
    named_month = MONTHS.get(w)
    if named_month is not None:
        return _named_month(tokens, i, clock, named_month)
    j = i + 1 if w == "the" else i
    dom = _day_of_month(tokens, j)
    if dom is None:
        return None
    k = j + 1 + (word(tokens, j + 1) == "of")
    month_of = MONTHS.get(word(tokens, k))
    if month_of is not None:
        year = _year_at(tokens, k + 1)
        found = _month_day(clock, month_of, dom, year)
        end = k + 1 if year is None else k + 2
        return None if found is None else (end, found)
    if tokens[j].kind is Kind.ORDINAL and (
        j > i or word(tokens, i - 1) in {"on", "by", "until", "due"}
    ):
        return j + 1, next_month_day(today, dom)
    return None


def _named_month(
    tokens: Sequence[Token], i: int, clock: Clock, month: int
) -> tuple[int, date] | None:
    """ "Dec 5", "December 5th, 2027" (a month name alone is no date: "May", "March on")."""
    dom = _day_of_month(tokens, i + 1)
    if dom is None:
        return None
    comma = i + 2 < len(tokens) and tokens[i + 2].text == ","
    year = _year_at(tokens, i + 2 + comma)
    end = i + 2 if year is None else i + 3 + comma
    found = _month_day(clock, month, dom, year)
    return None if found is None else (end, found)


def _end_of(today: date, unit: str) -> date:
    if unit == "day":
        return today
    if unit == "week":
        return next_weekday(today, WORK_WEEK_END, include_today=True)
    if unit == "month":
        return month_end(today)
    return date(today.year, 12, 31)


def _hour_with_convention(hour: int, minute: int, *, meridiem: bool, leading_zero: bool) -> time:
    """A bare "at 5" means 17:00: bare hours 1-6 are afternoon, 7-11 morning."""
    if not meridiem and not leading_zero and 1 <= hour <= 6:
        hour += 12
    return time(hour, minute)


def parse_clock(tokens: Sequence[Token], i: int) -> tuple[int, time, bool] | None:
    """A wall-clock time: 5pm, 17:00, at 9, noon, midnight. The flag: meridiem was given."""
    if i >= len(tokens):
        return None
    token = tokens[i]
    w = word(tokens, i)
    if token.kind is Kind.TIME:
        hour, minute, meridiem = token.value
        if hour > 23 or minute > 59:
            return None
        leading_zero = token.text.startswith("0") or hour > 12
        at = _hour_with_convention(hour, minute, meridiem=bool(meridiem), leading_zero=leading_zero)
        return i + 1, at, bool(meridiem) or leading_zero
    if w in {"at", "@"} or token.text == "@":
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.kind is Kind.NUMBER and 0 <= nxt.value[0] <= 23:
            end = i + 2 + (word(tokens, i + 2) in {"o'clock", "oclock"})
            at = _hour_with_convention(
                nxt.value[0], 0, meridiem=False, leading_zero=nxt.text.startswith("0")
            )
            return end, at, nxt.value[0] > 12 or nxt.text.startswith("0")
        if nxt is not None and nxt.kind is Kind.TIME:
            return parse_clock(tokens, i + 1)
        if word(tokens, i + 1) in {"noon", "midday", "midnight"}:
            return i + 2, time(0, 0) if word(tokens, i + 1) == "midnight" else time(12, 0), True
        return None
    if token.kind is Kind.NUMBER and word(tokens, i + 1) in {"o'clock", "oclock"}:
        at = _hour_with_convention(token.value[0] % 24, 0, meridiem=False, leading_zero=False)
        return i + 2, at, False
    if w in {"noon", "midday"}:
        return i + 1, time(12, 0), True
    return None


def _part_at(tokens: Sequence[Token], i: int, *, has_day: bool) -> tuple[int, str] | None:
    """A time of day: "evening" after a day, "this evening", "in the morning", "tonight"."""
    w = word(tokens, i)
    if w == "tonight":
        return i + 1, "tonight"
    if w in {"this", "in"}:
        j = i + 1 + (w == "in" and word(tokens, i + 1) == "the")
        if w == "in" and j == i + 1:
            return None
        if word(tokens, j) in {"morning", "afternoon", "evening"}:
            return j + 1, word(tokens, j)
        if w == "in" and word(tokens, j) == "night":
            return j + 1, "night"
        return None
    if has_day and w in {"morning", "afternoon", "evening", "night"}:
        return i + 1, w
    return None


def with_part(at: time, part: str, *, meridiem: bool) -> time:
    if meridiem:
        return at
    hour = at.hour % 12 if at.hour >= 12 and not meridiem else at.hour
    if part in {"afternoon", "evening", "night", "tonight"} and hour < 12:
        return time(hour + 12, at.minute)
    if part == "morning":
        return time(hour, at.minute)
    return at


def parse_offset(tokens: Sequence[Token], i: int, clock: Clock) -> Found | None:
    """ "in 2 hours", "in 3 days", "in a week", "in half an hour"."""
    if word(tokens, i) != "in":
        return None
    counted = count_at(tokens, i + 1)
    if counted is None:
        return None
    j, n = counted
    unit = UNITS.get(word(tokens, j))
    if unit is None:
        return None
    if n == 0:  # "half an hour"
        if unit != "hours":
            return None
        unit, n = "minutes", 30
    if unit in {"minutes", "hours"}:
        moment = clock.later(timedelta(**{unit: n}))
        return j + 1, When(moment.date(), moment.time().replace(second=0, microsecond=0))
    if unit == "days":
        return j + 1, When(clock.today + timedelta(days=n))
    if unit in {"weeks", "fortnights"}:
        return j + 1, When(clock.today + timedelta(weeks=n * (2 if unit == "fortnights" else 1)))
    if unit == "months":
        return j + 1, When(add_months(clock.today, n))
    return j + 1, When(add_months(clock.today, 12 * n))


def _offset_from_now(tokens: Sequence[Token], i: int, clock: Clock) -> Found | None:
    """ "30 minutes from now", "2 hours later": a count and a unit, then "from now"."""
    counted = count_at(tokens, i)
    if counted is None:
        return None
    j, n = counted
    unit = UNITS.get(word(tokens, j))
    if unit not in {"minutes", "hours"} or n == 0:
        return None
    if words_at(tokens, j + 1, "from", "now"):
        end = j + 3
    elif word(tokens, j + 1) == "later":
        end = j + 2
    else:
        return None
    moment = clock.later(timedelta(**{unit: n}))
    return end, When(moment.date(), moment.time().replace(second=0, microsecond=0))


def parse_when(
    tokens: Sequence[Token], i: int, clock: Clock, *, after_day: bool = False
) -> Found | None:
    """A day, a time of day and a clock time, in any order ("5pm tomorrow", "friday at 9")."""
    found = parse_offset(tokens, i, clock) or _offset_from_now(tokens, i, clock)
    if found is not None:
        end, when = found
        if when.time is None:
            clock_found = _clock_after(tokens, end)
            if clock_found is not None:
                end, extra, _ = clock_found
                when = When(when.day, extra, None)
        return end, when
    day: date | None = None
    part: str | None = None
    at: time | None = None
    meridiem = False
    j = i
    progressed = True
    while progressed and j < len(tokens):
        progressed = False
        k = j + (tokens[j].text == "," and j > i)
        if day is None:
            skip = k + (word(tokens, k) == "on" and k > i)
            found_day = parse_day(tokens, skip, clock)
            if found_day is not None:
                j, day = found_day
                if word(tokens, skip) == "tonight":
                    part = "tonight"
                progressed = True
                continue
        if part is None:
            found_part = _part_at(tokens, k, has_day=day is not None or after_day)
            if found_part is not None:
                if word(tokens, k) == "this" and day is None:
                    day = clock.today
                j, part = found_part
                progressed = True
                continue
        if at is None:
            found_clock = parse_clock(tokens, k)
            if found_clock is not None:
                j, at, meridiem = found_clock
                progressed = True
                continue
    if j == i:
        return None
    if at is not None and part is not None:
        at = with_part(at, part, meridiem=meridiem)
    elif at is None and part is not None:
        at = PARTS[part]
    if day is None and part == "tonight":
        day = clock.today
    dated = day is not None
    if day is None and at is not None:
        later_today = clock.moment(clock.today, at) > clock.now
        day = clock.today if later_today else clock.today + timedelta(days=1)
    return j, When(day, at, part, dated, exact=meridiem or part is not None)


def _clock_after(tokens: Sequence[Token], i: int) -> tuple[int, time, bool] | None:
    k = i + (i < len(tokens) and tokens[i].text == ",")
    return parse_clock(tokens, k)
