"""Unit tests of the offline planner's grammar pieces: tokens, dates, times, rules, references."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from taskstream.chat.offline.dates import Clock, When, parse_clock, parse_day, parse_when
from taskstream.chat.offline.lexer import Kind, tokenize
from taskstream.chat.offline.recurrence import Rule, first_due, parse_anchor, parse_rule
from taskstream.chat.offline.references import Ambiguous, NotFound, Resolved, resolve, stem
from taskstream.chat.plan import KnownTask, PlanContext

NEW_YORK = "America/New_York"
# Monday 30 November 2026, 10:00 EST.
CLOCK = Clock.of(datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo(NEW_YORK)), NEW_YORK)


def test_words_are_whole_and_keep_their_spans() -> None:
    tokens = tokenize("Move old monitor mon")
    assert [t.norm for t in tokens] == ["move", "old", "monitor", "mon"]
    assert [(t.start, t.end) for t in tokens] == [(0, 4), (5, 8), (9, 16), (17, 20)]


def test_lexer_reads_times_tags_references_and_quotes() -> None:
    tokens = tokenize('add "Call Anna" at 5:30 pm #Work #2 on the 5th 2026-12-05')
    kinds = [t.kind for t in tokens]
    assert kinds == [
        Kind.WORD,
        Kind.QUOTED,
        Kind.WORD,
        Kind.TIME,
        Kind.TAG,
        Kind.REF,
        Kind.WORD,
        Kind.WORD,
        Kind.ORDINAL,
        Kind.DATE,
    ]
    assert tokens[1].text == "Call Anna"
    assert tokens[3].value == (17, 30, 1)
    assert tokens[4].norm == "work"
    assert tokens[5].value == (2,)
    assert tokens[9].value == (2026, 12, 5)


@pytest.mark.parametrize(
    ("text", "norm"),
    [("tmrw", "tomorrow"), ("Tommorow", "tomorrow"), ("2morrow", "tomorrow"), ("wat's", "what's")],
)
def test_common_misspellings_are_read_as_the_word_meant(text: str, norm: str) -> None:
    assert tokenize(text)[0].norm == norm


def test_apostrophes_inside_words_do_not_open_quotes() -> None:
    tokens = tokenize("what's on mom's list")
    assert [t.kind for t in tokens] == [Kind.WORD] * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 30)),
        ("tomorrow", date(2026, 12, 1)),
        ("the day after tomorrow", date(2026, 12, 2)),
        ("friday", date(2026, 12, 4)),
        ("monday", date(2026, 12, 7)),  # a bare weekday is never today
        ("this monday", date(2026, 11, 30)),
        ("next friday", date(2026, 12, 11)),  # Friday of next week
        ("next monday", date(2026, 12, 7)),
        ("next week", date(2026, 12, 7)),
        ("this weekend", date(2026, 12, 5)),
        ("next month", date(2026, 12, 1)),
        ("end of month", date(2026, 11, 30)),
        ("end of the week", date(2026, 12, 4)),
        ("end of next month", date(2026, 12, 31)),
        ("the 5th", date(2026, 12, 5)),
        ("the 30th", date(2026, 11, 30)),
        ("the 31st", date(2026, 12, 31)),  # November has no 31st
        ("dec 5", date(2026, 12, 5)),
        ("5th of march", date(2027, 3, 5)),
        ("december 5th, 2027", date(2027, 12, 5)),
        ("2026-12-24", date(2026, 12, 24)),
        ("12/24", date(2026, 12, 24)),
    ],
)
def test_days(text: str, expected: date) -> None:
    tokens = tokenize(text)
    found = parse_day(tokens, 0, CLOCK)
    assert found == (len(tokens), expected)


@pytest.mark.parametrize("text", ["may", "march", "sun cream", "the 5", "monitor", "5th"])
def test_words_that_are_no_day_on_their_own(text: str) -> None:
    assert parse_day(tokenize(text), 0, CLOCK) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5pm", time(17, 0)),
        ("5 p.m.", time(17, 0)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("17:45", time(17, 45)),
        ("at 5", time(17, 0)),  # bare 1-6: afternoon
        ("at 9", time(9, 0)),  # bare 7-11: morning
        ("at 09", time(9, 0)),
        ("5:30", time(17, 30)),
        ("noon", time(12, 0)),
    ],
)
def test_clock_times(text: str, expected: time) -> None:
    found = parse_clock(tokenize(text), 0)
    assert found is not None
    assert found[1] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow evening", When(date(2026, 12, 1), time(18, 0), "evening")),
        ("tomorrow at 7 in the evening", When(date(2026, 12, 1), time(19, 0), "evening")),
        ("5pm tomorrow", When(date(2026, 12, 1), time(17, 0))),
        ("friday, 9am", When(date(2026, 12, 4), time(9, 0))),
        ("at 9", When(date(2026, 12, 1), time(9, 0), dated=False, exact=False)),  # passed
        ("at 11", When(date(2026, 11, 30), time(11, 0), dated=False, exact=False)),
        ("tonight", When(date(2026, 11, 30), time(20, 0), "tonight")),
        ("in 2 hours", When(date(2026, 11, 30), time(12, 0))),
        ("in 3 days at 5pm", When(date(2026, 12, 3), time(17, 0))),
        ("in a week", When(date(2026, 12, 7))),
        ("in a fortnight", When(date(2026, 12, 14))),
        ("30 minutes from now", When(date(2026, 11, 30), time(10, 30))),
        ("this evening", When(date(2026, 11, 30), time(18, 0), "evening")),
    ],
)
def test_when(text: str, expected: When) -> None:
    tokens = tokenize(text)
    assert parse_when(tokens, 0, CLOCK) == (len(tokens), expected)


def test_a_bare_time_of_day_is_no_date_without_a_day() -> None:
    assert parse_when(tokenize("morning run"), 0, CLOCK) is None


def test_offsets_cross_daylight_saving_on_the_real_time_line() -> None:
    berlin = Clock.of(
        datetime(2026, 3, 28, 22, 30, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin"
    )
    tokens = tokenize("in 4 hours")
    assert parse_when(tokens, 0, berlin) == (3, When(date(2026, 3, 29), time(3, 30)))


def test_a_moment_in_the_spring_forward_gap_moves_on() -> None:
    berlin = Clock.of(
        datetime(2026, 3, 28, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin"
    )
    assert berlin.iso(date(2026, 3, 29), time(2, 30)) == "2026-03-29T03:30:00+02:00"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("every day", "FREQ=DAILY"),
        ("daily", "FREQ=DAILY"),
        ("every other day", "FREQ=DAILY;INTERVAL=2"),
        ("every 3 days", "FREQ=DAILY;INTERVAL=3"),
        ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("every weekend", "FREQ=WEEKLY;BYDAY=SA,SU"),
        ("every other tuesday", "FREQ=WEEKLY;BYDAY=TU;INTERVAL=2"),
        ("every mon, wed and fri", "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        ("on mondays", "FREQ=WEEKLY;BYDAY=MO"),
        ("weekly on thursday", "FREQ=WEEKLY;BYDAY=TH"),
        ("every last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("every 15th", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("monthly on the 1st", "FREQ=MONTHLY;BYMONTHDAY=1"),
        ("every last friday of the month", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("every year on july 4", "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=4"),
        ("fortnightly", "FREQ=WEEKLY;INTERVAL=2"),
        ("every 2 hours", "FREQ=HOURLY;INTERVAL=2"),
        ("every 3 months on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15;INTERVAL=3"),
        ("on the 1st and 15th of every month", "FREQ=MONTHLY;BYMONTHDAY=1,15"),
        ("every 2nd monday of the month", "FREQ=MONTHLY;BYDAY=2MO"),
        ("mon wed fri", "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    ],
)
def test_rules(text: str, rule: str) -> None:
    tokens = tokenize(text)
    found = parse_rule(tokens, 0)
    assert found is not None
    assert found[0] == len(tokens)
    assert found[1].text() == rule


def test_every_morning_is_daily_and_leaves_the_time_of_day_to_the_due() -> None:
    found = parse_rule(tokenize("every morning"), 0)
    assert found is not None
    assert found[0] == 1
    assert found[1].text() == "FREQ=DAILY"


@pytest.mark.parametrize(
    "text", ["monthly report", "weekly review", "every room", "daily standup notes"]
)
def test_frequency_words_inside_titles_are_no_rules(text: str) -> None:
    assert parse_rule(tokenize(text), 0) is None


@pytest.mark.parametrize(
    "text", ["after I finish it", "after completion", "after it's done", "from completion"]
)
def test_completion_anchors(text: str) -> None:
    tokens = tokenize(text)
    assert parse_anchor(tokens, 0) == len(tokens)


@pytest.mark.parametrize(
    ("rule", "at", "expected"),
    [
        (Rule("DAILY"), None, date(2026, 11, 30)),
        (Rule("DAILY"), time(9, 0), date(2026, 12, 1)),  # 09:00 today has passed
        (Rule("DAILY"), time(11, 0), date(2026, 11, 30)),
        (Rule("WEEKLY", byday=("TU",), interval=2), time(9, 0), date(2026, 12, 1)),
        (Rule("MONTHLY", bymonthday=(-1,)), None, date(2026, 11, 30)),
        (Rule("MONTHLY", byday=("1TH",)), None, date(2026, 12, 3)),
        (Rule("DAILY", interval=2), time(7, 0), date(2026, 12, 1)),  # starts when next ahead
        (Rule("MONTHLY", interval=3, bymonthday=(15,)), None, date(2026, 12, 15)),
        (Rule("YEARLY", bymonth=2, bymonthday=(29,)), None, date(2028, 2, 29)),
    ],
)
def test_first_due(rule: Rule, at: time | None, expected: date) -> None:
    assert first_due(rule, CLOCK, None, at) == expected


def test_rule_text_keeps_the_domain_order() -> None:
    rule = Rule("WEEKLY", interval=2, byday=("TU",), count=5)
    assert rule.text() == "FREQ=WEEKLY;BYDAY=TU;COUNT=5;INTERVAL=2"


TASKS = (
    KnownTask("1", "Buy milk"),
    KnownTask("2", "Buy oat milk"),
    KnownTask("3", "Do the dishes", done=True),
    KnownTask("4", "Do the dishes"),
)


def _context(listed: tuple[KnownTask, ...] = ()) -> PlanContext:
    return PlanContext(now=CLOCK.now, timezone=NEW_YORK, listed=listed, tasks=TASKS)


def test_references_by_number_ordinal_and_last() -> None:
    context = _context(listed=TASKS[:2])
    assert resolve(tokenize("2"), context) == Resolved(TASKS[1])
    assert resolve(tokenize("the first one"), context) == Resolved(TASKS[0])
    assert resolve(tokenize("the last one"), context) == Resolved(TASKS[1])
    assert isinstance(resolve(tokenize("task 3"), context), NotFound)
    assert isinstance(resolve(tokenize("2"), _context()), NotFound)


def test_references_by_title_words() -> None:
    assert resolve(tokenize("the oat milk one"), _context()) == Resolved(TASKS[1])
    assert isinstance(resolve(tokenize("the milk one"), _context()), Ambiguous)
    assert resolve(tokenize("the milk one"), _context(listed=TASKS[:1])) == Resolved(TASKS[0])
    assert isinstance(resolve(tokenize("the bread one"), _context()), NotFound)


def test_references_prefer_the_state_the_action_needs() -> None:
    assert resolve(tokenize("the dishes"), _context(), prefer_done=True) == Resolved(TASKS[2])
    assert resolve(tokenize("the dishes"), _context(), prefer_done=False) == Resolved(TASKS[3])


def test_plural_words_match_their_singular() -> None:
    assert stem("meetings") == stem("meeting")
    assert stem("dishes") == stem("dish")
    assert stem("groceries") == stem("grocery")


ODD_MESSAGES = [
    "",
    "   ",
    "!!!",
    "#",
    "#2",
    '"',
    "''",
    "every",
    "every 0 days",
    "in 0 minutes",
    "in 999999 years",
    "on feb 30",
    "feb 29 2027 dentist",
    "at 25",
    "at 99:99",
    "13pm",
    "remind me",
    "remind me about",
    "move",
    "move to friday",
    "rename",
    "rename to",
    "tag",
    "mark",
    "done",
    "the 99th",
    "every 99th",
    "every 5th monday of the month",
    "until",
    "every day until feb 30",
    "p5",
    "🙂 buy milk 🙂",
    "x" * 5000,
    "tomorrow " * 200,
]


@pytest.mark.parametrize("message", ODD_MESSAGES)
async def test_the_planner_answers_anything_without_raising(message: str) -> None:
    from taskstream.chat.offline import OfflinePlanner
    from taskstream.chat.plan import Plan

    context = PlanContext(now=CLOCK.now, timezone=NEW_YORK, listed=TASKS[:2], tasks=TASKS)
    plan = await OfflinePlanner().plan(message, context)
    assert isinstance(plan, Plan)
    assert plan.calls or plan.question or plan.reply
