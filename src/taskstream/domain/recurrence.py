"""Recurrence rules (RFC 5545 RRULE) and the arithmetic of the next occurrence.

Rules are evaluated in the owner's wall-clock time, so "every day at 09:00" stays at
09:00 across daylight-saving changes; a wall-clock time that does not exist on a given
day (the spring-forward gap) resolves to the instant an hour later, as zoneinfo does.

Month ends: a MONTHLY (or YEARLY) rule that takes its day from the start date clamps
to the last day of shorter months, so a series started on 31 January falls on 28 or
29 February, 31 March, 30 April. An explicit ``BYMONTHDAY=31`` keeps its RFC 5545
meaning: months without a 31st are skipped. ``BYMONTHDAY=-1`` means "the last day".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from typing import Final
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from taskstream.domain.errors import ValidationFailed

_ALLOWED_FREQ = {"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_ALLOWED_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYSETPOS",
    "BYHOUR",
    "BYMINUTE",
    "WKST",
}
_DAY_PARTS = {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}
_UNTIL = re.compile(r"^(\d{8})(T(\d{6})(Z?))?$")
_WHOLE = re.compile(r"[0-9]+")  # str.isdigit() also accepts "²", which int() refuses
_SIGNED = re.compile(r"[+-]?[0-9]{1,3}")
_BY_RANGE = {
    "BYMONTH": (1, 12),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
}
MAX_COUNT = 10_000
_FIELD = "recurrence.rule"
_DAY = timedelta(days=1)
_HORIZON = timedelta(days=366 * 10)  # a rule with nothing in ten years has ended
EARLIEST: Final = datetime(1900, 1, 1)  # noqa: DTZ001 - wall clock
"""The earliest wall-clock due a task may have."""
LATEST: Final = datetime(2200, 12, 31, 23, 59, 59)  # noqa: DTZ001 - wall clock
"""The latest wall-clock due a task may have; a series ends before it passes this."""


class RecurrenceAnchor(StrEnum):
    """What the next occurrence is computed from."""

    DUE = "due"
    """The rule's own calendar: missed occurrences are skipped forward."""
    COMPLETION = "completion"
    """The moment the previous occurrence was completed."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A normalised RRULE (no ``RRULE:`` prefix, no DTSTART) and its anchor.

    ``start`` is the wall-clock due of the series' first occurrence; it gives the rule
    its DTSTART, so COUNT and month-end clamping follow the series, not the latest task.
    """

    rule: str
    anchor: RecurrenceAnchor
    start: datetime

    @property
    def parts(self) -> dict[str, str]:
        return dict(part.split("=", 1) for part in self.rule.split(";"))


@dataclass(frozen=True, slots=True)
class Occurrence:
    """The wall-clock due of the next occurrence and its 1-based number in the series."""

    due: datetime
    number: int


def parse_rule(text: str) -> str:
    """Validate an RRULE and return it normalised (upper case, canonical order)."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body:
        raise ValidationFailed.of(_FIELD, "rule_empty", "The recurrence rule is empty.")
    parts: dict[str, str] = {}
    for raw in body.split(";"):
        if "=" not in raw:
            raise ValidationFailed.of(
                _FIELD, "rule_invalid", f"'{raw}' is not a NAME=VALUE part of an RRULE."
            )
        name, value = (piece.strip().upper() for piece in raw.split("=", 1))
        if name == "DTSTART":
            raise ValidationFailed.of(
                _FIELD, "rule_invalid", "Leave DTSTART out: the series starts at the due date."
            )
        if name not in _ALLOWED_PARTS:
            raise ValidationFailed.of(_FIELD, "rule_invalid", f"Unsupported RRULE part {name}.")
        if name in parts:
            raise ValidationFailed.of(_FIELD, "rule_invalid", f"RRULE part {name} is repeated.")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise ValidationFailed.of(_FIELD, "rule_invalid", "An RRULE needs FREQ, e.g. FREQ=DAILY.")
    if freq not in _ALLOWED_FREQ:
        raise ValidationFailed.of(
            _FIELD,
            "rule_invalid",
            f"FREQ={freq} is not supported; use one of {', '.join(sorted(_ALLOWED_FREQ))}.",
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValidationFailed.of(
            _FIELD, "rule_invalid", "An RRULE may end with COUNT or with UNTIL, not both."
        )
    if "COUNT" in parts and not (
        _WHOLE.fullmatch(parts["COUNT"]) and 1 <= int(parts["COUNT"]) <= MAX_COUNT
    ):
        raise ValidationFailed.of(
            _FIELD, "rule_invalid", f"COUNT must be a whole number from 1 to {MAX_COUNT}."
        )
    if "INTERVAL" in parts and not (
        _WHOLE.fullmatch(parts["INTERVAL"]) and int(parts["INTERVAL"]) >= 1
    ):
        raise ValidationFailed.of(_FIELD, "rule_invalid", "INTERVAL must be a whole number ≥ 1.")
    for name in sorted(_BY_RANGE.keys() & parts.keys()):
        # dateutil accepts these out of range, and the rule then never (or wrongly) occurs.
        low, high = _BY_RANGE[name]
        if not all(
            _SIGNED.fullmatch(value) and int(value) != 0 and low <= int(value) <= high
            for value in parts[name].split(",")
        ):
            raise ValidationFailed.of(
                _FIELD,
                "rule_invalid",
                f"{name} must list whole numbers from {low} to {high} (not 0).",
            )
    if "UNTIL" in parts and not _UNTIL.match(parts["UNTIL"]):
        raise ValidationFailed.of(
            _FIELD, "rule_invalid", "UNTIL must look like 20261231 or 20261231T235959Z."
        )
    if "UNTIL" in parts and not EARLIEST.year <= int(parts["UNTIL"][:4]) <= LATEST.year:
        raise ValidationFailed.of(
            _FIELD,
            "rule_invalid",
            f"UNTIL must be in the years {EARLIEST.year} to {LATEST.year}.",
        )
    ordered = ["FREQ", *sorted(name for name in parts if name != "FREQ")]
    normalised = ";".join(f"{name}={parts[name]}" for name in ordered)
    # Let dateutil judge the values (BYDAY=XX, BYHOUR=25, ...), but not whether an HOURLY
    # INTERVAL reaches the listed hours: that depends on each series' start hour.
    judged = ";".join(f"{name}={parts[name]}" for name in ordered if name != "INTERVAL")
    try:
        _build(judged, datetime(2000, 1, 1), ZoneInfo("UTC"))  # noqa: DTZ001
        occurs = _ever_occurs(parts)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed.of(_FIELD, "rule_invalid", f"Invalid RRULE: {exc}.") from exc
    if not occurs:
        raise ValidationFailed.of(
            _FIELD, "rule_never_occurs", "This rule picks no day or time that ever comes."
        )
    return normalised


_NTH = re.compile(r"^[+-]?[0-9]+")
_PROBE = datetime(9972, 1, 1)  # noqa: DTZ001 - wall clock
"""The start of the last 28 years of the calendar: every kind of year (leap or not,
starting on each weekday) is among them, and no century year breaks the pattern."""


def _ever_occurs(parts: dict[str, str]) -> bool:
    """Whether the days and times the rule picks ever come, checked in a bounded time.

    dateutil walks the calendar to year 9999 looking for a rule that picks nothing (a
    30 February, a sixth Monday), one period after another; so the check runs over the
    last 28 years of the calendar, where that walk is short, at a frequency no finer than
    a month. Which days a rule picks depends only on the kind of year, all found there.
    """
    freq = parts["FREQ"]
    coarse = freq in {"YEARLY", "MONTHLY"}
    probe = {"FREQ": freq if coarse else "YEARLY"}
    for name in ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "WKST", "BYDAY"):
        if name in parts:
            probe[name] = parts[name]
    if not coarse and "BYDAY" in parts:  # a numbered weekday means any such weekday here
        probe["BYDAY"] = ",".join(_NTH.sub("", day) for day in parts["BYDAY"].split(","))
    positions = [int(pos) for pos in parts.get("BYSETPOS", "").split(",") if pos]
    minutes = len(parts.get("BYMINUTE", "0").split(","))
    if coarse and positions:
        probe |= {
            "BYSETPOS": parts["BYSETPOS"],
            "BYHOUR": parts.get("BYHOUR", "0"),
            "BYMINUTE": parts.get("BYMINUTE", "0"),
        }
    elif positions:  # the most a period holds: its days (a week's at most) times its times
        times = minutes if freq == "HOURLY" else minutes * len(parts.get("BYHOUR", "0").split(","))
        days = len(set(probe["BYDAY"].split(","))) if "BYDAY" in probe else 7
        for name in ("BYMONTHDAY", "BYYEARDAY"):  # each comes at most once in a week
            if name in parts:
                days = min(days, len(parts[name].split(",")))
        if all(abs(pos) > times * (days if freq == "WEEKLY" else 1) for pos in positions):
            return False
    return _rrule(probe, _PROBE).after(_PROBE, inc=True) is not None


def _until_local(value: str, tz: ZoneInfo) -> str:
    """UNTIL in the rule's floating wall-clock time (dateutil needs it naive here)."""
    match = _UNTIL.match(value)
    assert match is not None
    day, _, clock, zulu = match.groups()
    if clock is None:
        return f"{day}T235959"
    if zulu:
        moment = datetime.strptime(day + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        return moment.astimezone(tz).strftime("%Y%m%dT%H%M%S")
    return f"{day}T{clock}"


def _parts(rule: str, dtstart: datetime, tz: ZoneInfo, until: datetime | None) -> dict[str, str]:
    """The rule's parts for dateutil, in naive wall-clock time, without COUNT.

    COUNT is applied by occurrence numbers instead (see `next_occurrence`); `until` caps
    how far ahead a search runs, so a rule that never occurs again ends instead of
    scanning the calendar to year 9999.
    """
    parts = dict(part.split("=", 1) for part in rule.split(";"))
    parts.pop("COUNT", None)
    ends = [] if until is None else [until]
    if "UNTIL" in parts:
        end = _until_local(parts.pop("UNTIL"), tz)
        ends.append(datetime.strptime(end, "%Y%m%dT%H%M%S"))  # noqa: DTZ007 - wall clock
    if ends:
        parts["UNTIL"] = min(ends).strftime("%Y%m%dT%H%M%S")
    clamp = not (_DAY_PARTS | {"BYHOUR", "BYMINUTE"}) & parts.keys() and dtstart.day > 28
    if clamp and (
        parts["FREQ"] == "MONTHLY" or (parts["FREQ"] == "YEARLY" and "BYMONTH" not in parts)
    ):
        # Take the day from the start, clamped to the month's last day.
        if parts["FREQ"] == "YEARLY":
            parts["BYMONTH"] = str(dtstart.month)
        parts["BYMONTHDAY"] = ",".join(str(d) for d in range(28, dtstart.day + 1))
        parts["BYSETPOS"] = "-1"
    return parts


def _build(rule: str, dtstart: datetime, tz: ZoneInfo, *, until: datetime | None = None) -> rrule:
    """The rule as a dateutil rrule from `dtstart`, in naive wall-clock time, without COUNT."""
    return _rrule(_parts(rule, dtstart, tz, until), dtstart)


def _rrule(parts: dict[str, str], dtstart: datetime) -> rrule:
    text = ";".join(f"{k}={v}" for k, v in parts.items())
    built = rrulestr(text, dtstart=dtstart, cache=False)
    assert isinstance(built, rrule)
    return built


def _seek(
    rule: str, start: datetime, tz: ZoneInfo, near: datetime, *, until: datetime
) -> tuple[dict[str, str], datetime] | None:
    """The series of `rule` started at `start`, restarted near `near` (as the parts and
    DTSTART of a rule): the same occurrences from `near` on, without walking the calendar
    from the series' start. None if the series' next period after `near` starts after
    `until` (an INTERVAL of centuries may reach past the calendar's end).

    What dateutil takes from the start (the time of day, the weekday, the day of the month)
    is written into the rule first; then the start moves forward by a whole number of
    INTERVALs of FREQ, so the series keeps its phase, and to `near` itself when that is in
    a period of the series (a period is generated whole, so BYSETPOS still counts right).
    """
    parts = _parts(rule, start, tz, until)
    freq = parts["FREQ"]
    parts.setdefault("BYSECOND", str(start.second))
    parts.setdefault("BYMINUTE", str(start.minute))
    if freq != "HOURLY":
        parts.setdefault("BYHOUR", str(start.hour))
    if not _DAY_PARTS & parts.keys():
        if freq == "YEARLY":
            parts.setdefault("BYMONTH", str(start.month))
            parts["BYMONTHDAY"] = str(start.day)
        elif freq == "MONTHLY":
            parts["BYMONTHDAY"] = str(start.day)
        elif freq == "WEEKLY":
            parts["BYDAY"] = _WEEKDAYS[start.weekday()]
    if near <= start:
        return parts, start
    interval = int(parts.get("INTERVAL", "1"))
    first, index = _period(freq, start, parts.get("WKST", "MO"))
    _, target = _period(freq, near, parts.get("WKST", "MO"))
    behind = (target - index) % interval  # periods since the last one of the series
    if behind == 0:
        return parts, near
    ahead = target - index - behind + interval  # the series' next period, from the first
    if index + ahead > _period(freq, until, parts.get("WKST", "MO"))[1]:
        return None
    return parts, _period_start(freq, first, ahead)


_UNIT_HOURS: Final = {"HOURLY": 1, "DAILY": 24, "WEEKLY": 24 * 7}
_WEEK_HOURS: Final = 24 * 7
_CALENDAR_PARTS: Final = frozenset({"BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"})
_LAST_DAY: Final = datetime(9999, 12, 31)  # noqa: DTZ001 - wall clock


def _never_again(parts: dict[str, str], dtstart: datetime) -> bool:
    """Whether an HOURLY, DAILY or WEEKLY series picks nothing from `dtstart` on, because
    its INTERVAL is out of phase with the weekdays or hours it picks (for example
    `FREQ=DAILY;INTERVAL=7;BYDAY=TU` from a Thursday).

    dateutil finds that out only by walking every period to the year 9999: seconds of
    CPU. What such a series picks by weekday and time of day repeats every cycle (the
    least common multiple of its step and a week), and the days it picks by the calendar
    (months, days of the month or year, week numbers) are among those. So the same series
    without its calendar parts is asked instead, moved a whole number of cycles to the
    last ones of the calendar, where the walk is short. (A series that has no such conflict
    and still never comes again, by its calendar parts, is walked as before.) dateutil
    refuses to build some of these series (hours out of phase with an HOURLY INTERVAL):
    they never come again either.
    """
    if parts["FREQ"] == "MONTHLY":
        return _months_never_again(parts, dtstart)
    unit = _UNIT_HOURS.get(parts["FREQ"])
    if unit is None:  # years: a walk to 9999 is short enough
        return False
    cycle = math.lcm(unit * int(parts.get("INTERVAL", "1")), _WEEK_HOURS)
    room = int((_LAST_DAY - dtstart).total_seconds()) // 3600
    if 3 * cycle > room:  # so long a step that the walk is short
        return False
    weekly = {k: v for k, v in parts.items() if k not in _CALENDAR_PARTS | {"COUNT", "UNTIL"}}
    moved = dtstart + timedelta(hours=(room // cycle - 2) * cycle)
    try:
        return _rrule(weekly, moved).after(moved, inc=True) is None
    except ValueError:  # dateutil's own finding for hours out of phase: "an empty set"
        return True


def _months_never_again(parts: dict[str, str], dtstart: datetime) -> bool:
    """Whether a MONTHLY series never comes to a month it picks again, its INTERVAL out of
    phase with its BYMONTH (`FREQ=MONTHLY;INTERVAL=4;BYMONTH=3` from May): the months it
    lands on repeat every least common multiple of INTERVAL and 12, asked as for
    `_never_again`, near the calendar's end."""
    if "BYMONTH" not in parts:
        return False
    cycle = math.lcm(int(parts.get("INTERVAL", "1")), 12) // 12  # in years
    room = _LAST_DAY.year - dtstart.year
    if 3 * cycle > room:
        return False
    months = {
        "FREQ": "MONTHLY",
        "INTERVAL": parts.get("INTERVAL", "1"),
        "BYMONTH": parts["BYMONTH"],
        "BYMONTHDAY": "1",
    }
    moved = datetime(dtstart.year + (room // cycle - 2) * cycle, dtstart.month, 1)  # noqa: DTZ001
    return _rrule(months, moved).after(moved, inc=True) is None


_WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_EPOCH: Final = datetime(1, 1, 1)  # noqa: DTZ001 - wall clock


def _period(freq: str, moment: datetime, wkst: str) -> tuple[datetime, int]:
    """The start of the FREQ period holding `moment` and that period's index."""
    day = datetime.combine(moment.date(), time(0))
    match freq:
        case "HOURLY":
            first = moment.replace(minute=0, second=0, microsecond=0)
            return first, int((first - _EPOCH).total_seconds()) // 3600
        case "DAILY":
            return day, (day - _EPOCH).days
        case "WEEKLY":
            first = day - timedelta(days=(day.weekday() - _WEEKDAYS.index(wkst)) % 7)
            return first, (first - _EPOCH).days // 7
        case "MONTHLY":
            return day.replace(day=1), moment.year * 12 + moment.month - 1
        case _:
            return day.replace(month=1, day=1), moment.year


def _period_start(freq: str, first: datetime, periods: int) -> datetime:
    """The start of the period `periods` after the one starting at `first`."""
    match freq:
        case "HOURLY":
            return first + timedelta(hours=periods)
        case "DAILY":
            return first + timedelta(days=periods)
        case "WEEKLY":
            return first + timedelta(weeks=periods)
        case "MONTHLY":
            months = first.year * 12 + first.month - 1 + periods
            return first.replace(year=months // 12, month=months % 12 + 1)
        case _:
            return first.replace(year=first.year + periods)


def wall_clock_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a naive wall-clock time in `tz` (gaps resolve forward)."""
    return local.replace(tzinfo=tz).astimezone(UTC)


def next_occurrence(
    recurrence: Recurrence,
    *,
    current_due: datetime,
    all_day: bool,
    current_number: int,
    completed_at: datetime,
    tz: ZoneInfo,
) -> Occurrence | None:
    """The occurrence that follows one completed at `completed_at`, or None if the rule ended.

    `current_due` and the returned due are naive wall-clock times in `tz` (midnight for
    all-day dues, which fall due at the end of their day). A series ends when its next
    occurrence would fall after `LATEST`.

    The work is bounded whatever the rule and however long ago the series started: the
    search starts near the moment that matters, never at the series' start, and at most
    `MAX_COUNT` skipped occurrences are counted (a series without COUNT that skipped more
    numbers its next occurrence as if `MAX_COUNT` had been skipped).
    """
    completed_local = completed_at.astimezone(tz).replace(tzinfo=None)
    count = recurrence.parts.get("COUNT")
    if count is not None and current_number >= int(count):
        return None
    if recurrence.anchor is RecurrenceAnchor.COMPLETION:
        clock = time(0) if all_day else current_due.time()
        base = datetime.combine(completed_local.date(), clock)
        if base >= LATEST:
            return None
        parts = _parts(recurrence.rule, base, tz, _search_end(base))
        if _never_again(parts, base):
            return None
        nxt = _rrule(parts, base).after(base)
        return None if nxt is None else Occurrence(nxt, current_number + 1)

    # Skip forward over occurrences already past: an all-day one is still upcoming
    # until its day ends, a timed one until its moment. Skipped ones count toward COUNT.
    if all_day:
        horizon = max(current_due, datetime.combine(completed_local.date(), time(0)) - _DAY)
    else:
        horizon = max(current_due, completed_local)
    if horizon >= LATEST:
        return None
    sought = _seek(recurrence.rule, recurrence.start, tz, horizon, until=_search_end(horizon))
    if sought is None:
        return None
    parts, begin = sought
    if _never_again(parts, begin):
        return None
    nxt = _rrule(parts, begin).after(horizon)
    if nxt is None:
        return None
    limit = MAX_COUNT if count is None else int(count) - current_number
    counted = _seek(recurrence.rule, recurrence.start, tz, current_due, until=nxt)
    assert counted is not None  # `nxt` is in a period of the series after `current_due`
    later = _rrule(*counted)
    skipped = sum(1 for _ in islice(later.xafter(current_due, limit + 1), limit + 1)) - 1
    number = current_number + 1 + min(skipped, MAX_COUNT)
    if count is not None and number > int(count):
        return None
    return Occurrence(nxt, number)


def _search_end(moment: datetime) -> datetime:
    """How far a search from `moment` looks: ten years, never past `LATEST`."""
    return min(moment + _HORIZON, LATEST) if moment < LATEST - _HORIZON else LATEST
