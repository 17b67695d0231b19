"""Unit tests of the task's rules at their edges: the limits of reminders, every problem
reported at once, what a plain edit leaves alone, and the fields a task keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.recurrence import RecurrenceAnchor
from taskstream.domain.tasks import (
    REMINDER_BEFORE_MAX,
    TAG_MAX,
    Due,
    NewTask,
    Priority,
    Reminder,
    Task,
    TaskChanges,
    create_task,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
FAR = Due(date(2028, 6, 1), time(9, 0))
"""A due more than REMINDER_BEFORE_MAX minutes after NOW."""


def make(**fields: Any) -> Task:
    return create_task(
        NewTask(**{"title": "Write report", **fields}),
        task_id="t1",
        owner_id="u1",
        default_timezone="UTC",
        now=NOW,
    )


def problems(action: Any) -> list[tuple[str, str]]:
    """The (field, code) of every problem `action` is refused with; each has a message."""
    with pytest.raises(ValidationFailed) as caught:
        action()
    assert all(isinstance(p.message, str) and p.message for p in caught.value.problems)
    return [(p.field, p.code) for p in caught.value.problems]


# --- reminders --------------------------------------------------------------------------


def test_a_relative_reminder_may_be_exactly_the_maximum_before_the_due() -> None:
    task = make(due=FAR, reminders=(Reminder(minutes_before=REMINDER_BEFORE_MAX),))
    assert task.reminder_moments() == [
        datetime(2028, 6, 1, 9, 0, tzinfo=UTC) - timedelta(minutes=REMINDER_BEFORE_MAX)
    ]
    assert REMINDER_BEFORE_MAX == 60 * 24 * 366


def test_a_relative_reminder_may_be_at_the_due_itself() -> None:
    task = make(due=FAR, reminders=(Reminder(minutes_before=0),))
    assert task.reminder_moments() == [datetime(2028, 6, 1, 9, 0, tzinfo=UTC)]


def test_every_invalid_reminder_is_reported_not_only_the_first() -> None:
    reminders = (
        Reminder(),
        Reminder(minutes_before=-1),
        Reminder(minutes_before=REMINDER_BEFORE_MAX + 1),
        Reminder(at=datetime(1899, 12, 31, tzinfo=UTC)),
        Reminder(at=NOW),
        Reminder(at=LATER, minutes_before=5),
        Reminder(at=LATER),
    )
    assert problems(lambda: make(due=FAR, reminders=reminders)) == [
        ("reminders.0", "reminder_invalid"),
        ("reminders.1", "reminder_invalid"),
        ("reminders.2", "reminder_invalid"),
        ("reminders.3", "date_out_of_range"),
        ("reminders.4", "reminder_in_past"),
        ("reminders.5", "reminder_invalid"),
    ]


def test_every_relative_reminder_without_a_due_is_reported() -> None:
    reminders = (Reminder(minutes_before=5), Reminder(minutes_before=10))
    assert problems(lambda: make(reminders=reminders)) == [
        ("reminders.0", "reminder_needs_due"),
        ("reminders.1", "reminder_needs_due"),
    ]


def test_every_invalid_reminder_of_an_edit_is_reported() -> None:
    task = make(due=FAR)
    changes = TaskChanges(reminders=(Reminder(minutes_before=-5), Reminder(at=NOW)))
    assert problems(lambda: task.apply(changes, LATER)) == [
        ("reminders.0", "reminder_invalid"),
        ("reminders.1", "reminder_in_past"),
    ]


@pytest.mark.parametrize(
    "at", [datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 12, 31, 23, 59, tzinfo=UTC)]
)
def test_an_absolute_reminder_on_the_first_or_last_day_taken_is_in_range(at: datetime) -> None:
    task = make()
    changes = TaskChanges(reminders=(Reminder(at=at),))
    if at < NOW:
        assert problems(lambda: task.apply(changes, NOW)) == [("reminders.0", "reminder_in_past")]
    else:
        assert task.apply(changes, NOW) == {"reminders": (Reminder(at=at),)}


# --- what a task keeps -----------------------------------------------------------------


@pytest.mark.parametrize("priority", list(Priority))
def test_a_new_task_keeps_its_priority(priority: Priority) -> None:
    assert make(priority=priority).priority is priority


def test_a_priority_change_is_saved_and_reported() -> None:
    task = make(priority=Priority.LOW)
    assert task.apply(TaskChanges(priority=Priority.URGENT), LATER) == {"priority": Priority.URGENT}
    assert task.priority is Priority.URGENT
    assert task.apply(TaskChanges(priority=Priority.URGENT), LATER) == {}


def test_priorities_rank_from_none_to_urgent() -> None:
    ranks = [p.rank for p in Priority]
    assert ranks == [0, 1, 2, 3, 4]
    assert [Priority.from_rank(r) for r in ranks] == list(Priority)


# --- series ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        TaskChanges(title="Rewrite report"),
        TaskChanges(due_date=date(2026, 2, 1)),
        TaskChanges(priority=Priority.HIGH),
        TaskChanges(recurrence_rule=None),
        TaskChanges(recurrence_anchor=RecurrenceAnchor.COMPLETION),
    ],
)
def test_a_plain_edit_does_not_give_a_one_off_task_a_series(changes: TaskChanges) -> None:
    task = make(due=Due(date(2026, 1, 20), time(9, 0)))
    task.apply(changes, LATER)
    assert task.recurrence is None
    assert task.series_id is None


def test_a_task_given_a_rule_later_starts_its_own_series() -> None:
    task = make(due=Due(date(2026, 1, 20), time(9, 0)))
    task.apply(TaskChanges(recurrence_rule="FREQ=DAILY"), LATER)
    assert task.series_id == "t1"


def test_a_new_rule_on_a_task_of_a_series_keeps_the_series() -> None:
    task = make(due=Due(date(2026, 1, 20), time(9, 0)), recurrence_rule="FREQ=DAILY")
    task.series_id = "first"
    task.apply(TaskChanges(recurrence_rule="FREQ=WEEKLY"), LATER)
    assert task.series_id == "first"


@pytest.mark.parametrize("tag", ["x", "t" * TAG_MAX])
def test_a_tag_of_one_character_or_the_longest_length_is_kept(tag: str) -> None:
    assert make(tags=[tag]).tags == {tag}


@pytest.mark.parametrize(("tag", "code"), [("a b", "tag_invalid"), ("a,b", "tag_invalid")])
def test_a_tag_with_a_space_or_comma_is_refused(tag: str, code: str) -> None:
    assert problems(lambda: make(tags=[tag])) == [("tags", code)]


def test_a_one_off_task_has_no_series() -> None:
    task = make(due=Due(date(2026, 1, 20), time(9, 0)))
    assert task.series_id is None
    assert task.occurrence == 1


# --- text ------------------------------------------------------------------------------


def test_a_nul_character_is_refused_in_every_text_field() -> None:
    draft = {"title": "a\x00b", "description": "c\x00", "tags": ["x\x00y", "fine"]}
    assert problems(lambda: make(**draft)) == [
        ("title", "nul_character"),
        ("description", "nul_character"),
        ("tags", "nul_character"),
    ]
    task = make()
    changes = TaskChanges(title="\x00", description="\x00", tags=frozenset({"\x00"}))
    assert problems(lambda: task.apply(changes, LATER)) == [
        ("title", "nul_character"),
        ("description", "nul_character"),
        ("tags", "nul_character"),
    ]


# --- edits ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(1899, 12, 31), date(2201, 1, 1)])
def test_an_edit_to_a_due_outside_the_dates_taken_is_refused(day: date) -> None:
    task = make(due=Due(date(2026, 2, 1), time(9, 0)))
    assert problems(lambda: task.apply(TaskChanges(due_date=day), LATER)) == [
        ("due_date", "date_out_of_range")
    ]
    assert task.due == Due(date(2026, 2, 1), time(9, 0))


def test_a_due_outside_the_dates_taken_is_the_only_problem_of_a_task_that_needs_one() -> None:
    """The rest of the edit is checked against the due the task keeps, not against none."""
    task = make(due=FAR, reminders=(Reminder(minutes_before=5),), recurrence_rule="FREQ=DAILY")
    assert problems(lambda: task.apply(TaskChanges(due_date=date(2201, 1, 1)), LATER)) == [
        ("due_date", "date_out_of_range")
    ]
    assert task.due == FAR


@pytest.mark.parametrize("day", [date(1900, 1, 1), date(2200, 12, 31)])
def test_an_edit_to_the_first_or_last_day_taken_is_kept(day: date) -> None:
    task = make(due=Due(date(2026, 2, 1), time(9, 0)))
    assert task.apply(TaskChanges(due_date=day), LATER) == {"due": Due(day, time(9, 0))}


def test_reminders_of_an_edit_are_checked_in_the_new_time_zone() -> None:
    """20:00 on 1 January is 06:00Z in Kiritimati (UTC+14): half an hour before is past."""
    task = make(due=Due(date(2026, 1, 1), time(20, 0)))
    kiritimati = TaskChanges(
        timezone="Pacific/Kiritimati", reminders=(Reminder(minutes_before=30),)
    )
    assert problems(lambda: task.apply(kiritimati, LATER)) == [("reminders.0", "reminder_in_past")]
    also_bad_title = TaskChanges(
        title="", timezone="Pacific/Kiritimati", reminders=(Reminder(minutes_before=30),)
    )
    assert problems(lambda: task.apply(also_bad_title, LATER)) == [
        ("title", "title_blank"),
        ("reminders.0", "reminder_in_past"),
    ]
    utc_only = TaskChanges(reminders=(Reminder(minutes_before=30),))
    assert task.apply(utc_only, LATER) == {"reminders": (Reminder(minutes_before=30),)}


def test_an_edit_with_an_unknown_time_zone_checks_reminders_in_the_current_one() -> None:
    task = make(due=Due(date(2026, 1, 1), time(20, 0)))
    changes = TaskChanges(timezone="Nowhere/Land", reminders=(Reminder(minutes_before=30),))
    assert problems(lambda: task.apply(changes, LATER)) == [("timezone", "timezone_unknown")]


def test_edits_that_need_a_due_say_so() -> None:
    task = make()
    assert problems(lambda: task.apply(TaskChanges(due_time=time(9, 0)), LATER)) == [
        ("due_time", "due_time_needs_date")
    ]
    assert problems(lambda: task.apply(TaskChanges(recurrence_rule="FREQ=DAILY"), LATER)) == [
        ("recurrence", "recurrence_needs_due")
    ]
    relative = make(due=FAR, reminders=(Reminder(minutes_before=5),))
    assert problems(lambda: relative.apply(TaskChanges(due_date=None), LATER)) == [
        ("due", "reminder_needs_due")
    ]
    repeating = make(due=FAR, recurrence_rule="FREQ=DAILY")
    assert problems(lambda: repeating.apply(TaskChanges(due_date=None), LATER)) == [
        ("recurrence", "recurrence_needs_due")
    ]


def test_every_refusal_of_a_new_task_comes_with_a_message() -> None:
    draft = {
        "title": "t" * 201,
        "description": "d" * 10_001,
        "timezone": "Nowhere/Land",
        "tags": ["a b"],
    }
    assert problems(lambda: make(**draft)) == [
        ("title", "title_too_long"),
        ("description", "description_too_long"),
        ("tags", "tag_invalid"),
        ("timezone", "timezone_unknown"),
    ]
    assert problems(lambda: make(title=" ", tags=[""])) == [
        ("title", "title_blank"),
        ("tags", "tag_length"),
    ]


def test_a_reminder_has_no_moment_without_what_it_is_measured_from() -> None:
    due_at = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    assert Reminder(minutes_before=5).moment(None) is None
    assert Reminder().moment(due_at) is None
    assert Reminder(minutes_before=5).moment(due_at) == due_at - timedelta(minutes=5)
    assert Reminder(at=LATER).moment(None) == LATER


@pytest.mark.parametrize("day", [date(1899, 12, 31), date(2201, 1, 1)])
def test_a_new_task_due_outside_the_dates_taken_is_refused(day: date) -> None:
    assert problems(lambda: make(due=Due(day))) == [("due_date", "date_out_of_range")]


def test_too_many_reminders_are_refused_with_a_message() -> None:
    reminders = tuple(Reminder(at=LATER + timedelta(minutes=m)) for m in range(11))
    assert problems(lambda: make(reminders=reminders)) == [("reminders", "too_many_reminders")]


def test_a_new_task_in_an_unknown_zone_is_checked_in_the_default_one() -> None:
    draft = {"timezone": "Nowhere/Land", "due": FAR, "reminders": (Reminder(minutes_before=5),)}
    assert problems(lambda: make(**draft)) == [("timezone", "timezone_unknown")]


def test_a_new_repeating_task_without_a_due_or_with_many_tags_says_so() -> None:
    assert problems(lambda: make(recurrence_rule="FREQ=DAILY")) == [
        ("recurrence", "recurrence_needs_due")
    ]
    assert problems(lambda: make(tags=[f"t{i}" for i in range(21)])) == [("tags", "too_many_tags")]
    assert problems(lambda: make(due=Due(date(2026, 2, 1)), recurrence_rule="FREQ=HOURLY")) == [
        ("recurrence.rule", "rule_needs_time")
    ]
