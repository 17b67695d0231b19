"""Unit tests of the task entity: validation, partial updates, completion, next occurrence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.recurrence import RecurrenceAnchor
from taskstream.domain.tasks import (
    DESCRIPTION_MAX,
    REMINDER_BEFORE_MAX,
    REMINDERS_PER_TASK,
    TAG_MAX,
    TAGS_PER_TASK,
    TITLE_MAX,
    Due,
    NewTask,
    Priority,
    Reminder,
    Status,
    Task,
    TaskChanges,
    create_task,
)

CREATED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


def make(*, now: datetime = CREATED, default_timezone: str = "UTC", **fields: Any) -> Task:
    draft = NewTask(**{"title": "Write report", **fields})
    return create_task(
        draft, task_id="t1", owner_id="u1", default_timezone=default_timezone, now=now
    )


def refusal(action: Callable[[], object]) -> list[tuple[str, str]]:
    """The (field, code) of every problem `action` is refused with."""
    with pytest.raises(ValidationFailed) as caught:
        action()
    return [(p.field, p.code) for p in caught.value.problems]


def advance(task: Task, new_id: str, completed_at: datetime | None = None) -> Task:
    """Complete `task` (at its due moment unless told) and return the next of its series."""
    done_at = completed_at or task.due_at
    assert done_at is not None
    assert task.complete(done_at)
    nxt = task.next_occurrence(new_id, done_at)
    assert nxt is not None
    return nxt


def local_due(task: Task) -> datetime:
    assert task.due is not None
    return task.due.local


# --- create_task ------------------------------------------------------------------------


def test_create_task_fills_in_the_defaults() -> None:
    task = make(title="  Write report  ")
    assert task.id == "t1"
    assert task.owner_id == "u1"
    assert task.title == "Write report"
    assert task.timezone == "UTC"
    assert task.status is Status.OPEN
    assert task.priority is Priority.NONE
    assert task.tags == frozenset()
    assert task.due is None
    assert task.recurrence is None
    assert task.series_id is None
    assert task.occurrence == 1
    assert task.completed_at is None
    assert task.version == 1
    assert task.created_at == task.updated_at == CREATED


def test_create_task_takes_its_time_zone_from_the_draft_or_the_default() -> None:
    assert make(timezone="Europe/Berlin").timezone == "Europe/Berlin"
    assert make(default_timezone="America/New_York").timezone == "America/New_York"


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("", "title_blank"),
        ("   \t\n", "title_blank"),
        ("x" * (TITLE_MAX + 1), "title_too_long"),
        ("  " + "x" * TITLE_MAX + "y  ", "title_too_long"),
    ],
)
def test_create_task_refuses_a_bad_title(title: str, code: str) -> None:
    assert refusal(lambda: make(title=title)) == [("title", code)]


def test_a_title_is_trimmed_and_measured_as_given() -> None:
    # As given, so the limit is one the API's schema can state and a client can check.
    assert make(title="  " + "x" * (TITLE_MAX - 4) + "  ").title == "x" * (TITLE_MAX - 4)
    assert refusal(lambda: make(title=" " + "x" * TITLE_MAX)) == [("title", "title_too_long")]


def test_create_task_limits_the_description() -> None:
    assert make(description="d" * DESCRIPTION_MAX).description == "d" * DESCRIPTION_MAX
    assert refusal(lambda: make(description="d" * (DESCRIPTION_MAX + 1))) == [
        ("description", "description_too_long")
    ]


def test_tags_are_trimmed_lower_cased_and_deduplicated() -> None:
    task = make(tags=[" Work", "work", "WORK ", "home", "a" * TAG_MAX])
    assert task.tags == frozenset({"work", "home", "a" * TAG_MAX})


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("", "tag_length"),
        ("   ", "tag_length"),
        ("a" * (TAG_MAX + 1), "tag_length"),
        ("two words", "tag_invalid"),
        ("a,b", "tag_invalid"),
    ],
)
def test_create_task_refuses_a_bad_tag(tag: str, code: str) -> None:
    assert refusal(lambda: make(tags=["ok", tag])) == [("tags", code)]


def test_a_task_is_given_at_most_so_many_tags() -> None:
    distinct = [f"tag{i}" for i in range(TAGS_PER_TASK)]
    assert len(make(tags=distinct).tags) == TAGS_PER_TASK
    assert len(make(tags=[*distinct[:-2], "TAG0", " tag1 "]).tags) == TAGS_PER_TASK - 2
    # Counted as given, duplicates too, so the API's schema can state the limit.
    assert refusal(lambda: make(tags=[*distinct, "TAG0"])) == [("tags", "too_many_tags")]
    assert refusal(lambda: make(tags=[*distinct, "one-more"])) == [("tags", "too_many_tags")]


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "EST5EDT6", "../../etc/passwd", "utc/"])
def test_create_task_refuses_an_unknown_time_zone(name: str) -> None:
    assert refusal(lambda: make(timezone=name)) == [("timezone", "timezone_unknown")]


def test_a_reminder_at_a_future_moment_is_kept() -> None:
    reminder = Reminder(at=CREATED + timedelta(minutes=1))
    assert make(reminders=(reminder,)).reminders == (reminder,)


@pytest.mark.parametrize("at", [CREATED, CREATED - timedelta(seconds=1)])
def test_a_reminder_in_the_past_is_refused(at: datetime) -> None:
    assert refusal(lambda: make(reminders=(Reminder(at=at),))) == [
        ("reminders.0", "reminder_in_past")
    ]


def test_a_relative_reminder_whose_moment_has_passed_is_refused() -> None:
    due = Due(date(2026, 1, 2), time(9, 0))  # 21 hours after CREATED
    assert make(due=due, reminders=(Reminder(minutes_before=20 * 60),)).reminders
    assert refusal(lambda: make(due=due, reminders=(Reminder(minutes_before=22 * 60),))) == [
        ("reminders.0", "reminder_in_past")
    ]


def test_a_relative_reminder_is_measured_in_the_tasks_time_zone() -> None:
    # 09:00 in New York is 14:00Z; an hour before is 13:00Z, after `now` at 12:00Z.
    due = Due(date(2026, 1, 1), time(9, 0))
    task = make(due=due, timezone="America/New_York", reminders=(Reminder(minutes_before=60),))
    assert task.reminder_moments() == [datetime(2026, 1, 1, 13, 0, tzinfo=UTC)]
    # In UTC the same reminder would be at 08:00Z, already past.
    assert refusal(lambda: make(due=due, reminders=(Reminder(minutes_before=60),))) == [
        ("reminders.0", "reminder_in_past")
    ]


@pytest.mark.parametrize(
    ("reminder", "code"),
    [
        (Reminder(minutes_before=30), "reminder_needs_due"),
        (Reminder(), "reminder_invalid"),
        (Reminder(at=LATER, minutes_before=30), "reminder_invalid"),
    ],
)
def test_create_task_refuses_a_malformed_reminder(reminder: Reminder, code: str) -> None:
    assert refusal(lambda: make(reminders=(Reminder(at=LATER), reminder))) == [
        ("reminders.1", code)
    ]


@pytest.mark.parametrize("minutes", [-1, REMINDER_BEFORE_MAX + 1])
def test_minutes_before_must_be_in_range(minutes: int) -> None:
    due = Due(date(2028, 1, 1), time(9, 0))
    assert refusal(lambda: make(due=due, reminders=(Reminder(minutes_before=minutes),))) == [
        ("reminders.0", "reminder_invalid")
    ]


def test_a_task_has_at_most_so_many_reminders() -> None:
    due = Due(date(2026, 2, 1), time(9, 0))
    enough = tuple(Reminder(minutes_before=m) for m in range(REMINDERS_PER_TASK))
    assert len(make(due=due, reminders=enough).reminders) == REMINDERS_PER_TASK
    too_many = (*enough, Reminder(minutes_before=99))
    assert refusal(lambda: make(due=due, reminders=too_many)) == [
        ("reminders", "too_many_reminders")
    ]


def test_a_repeating_task_gets_a_series_and_starts_at_its_due() -> None:
    due = Due(date(2026, 1, 5), time(9, 0))
    task = make(due=due, recurrence_rule="rrule:interval=2;freq=weekly")
    assert task.recurrence is not None
    assert task.recurrence.rule == "FREQ=WEEKLY;INTERVAL=2"
    assert task.recurrence.anchor is RecurrenceAnchor.DUE
    assert task.recurrence.start == datetime(2026, 1, 5, 9, 0)  # noqa: DTZ001 (wall clock)
    assert task.series_id == "t1"


def test_a_repeating_task_needs_a_due() -> None:
    assert refusal(lambda: make(recurrence_rule="FREQ=DAILY")) == [
        ("recurrence", "recurrence_needs_due")
    ]


def test_an_invalid_rule_is_reported_on_the_rule() -> None:
    due = Due(date(2026, 1, 5))
    assert refusal(lambda: make(due=due, recurrence_rule="FREQ=SECONDLY")) == [
        ("recurrence.rule", "rule_invalid")
    ]


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=9", "FREQ=DAILY;BYMINUTE=30"])
def test_an_all_day_task_cannot_repeat_by_the_hour(rule: str) -> None:
    assert refusal(lambda: make(due=Due(date(2026, 1, 5)), recurrence_rule=rule)) == [
        ("recurrence.rule", "rule_needs_time")
    ]
    assert make(due=Due(date(2026, 1, 5), time(9, 0)), recurrence_rule=rule).recurrence


def test_an_all_day_task_may_repeat_daily() -> None:
    assert make(due=Due(date(2026, 1, 5)), recurrence_rule="FREQ=DAILY").recurrence


def test_create_task_reports_every_problem_at_once() -> None:
    draft = NewTask(
        title="  ",
        description="d" * (DESCRIPTION_MAX + 1),
        tags=["fine", "not fine"],
        timezone="Nowhere/Land",
        reminders=(Reminder(minutes_before=10),),
        recurrence_rule="FREQ=DAILY",
    )
    with pytest.raises(ValidationFailed) as caught:
        create_task(draft, task_id="t1", owner_id="u1", default_timezone="UTC", now=CREATED)
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("title", "title_blank"),
        ("description", "description_too_long"),
        ("tags", "tag_invalid"),
        ("timezone", "timezone_unknown"),
        ("reminders.0", "reminder_needs_due"),
        ("recurrence", "recurrence_needs_due"),
    ]
    assert caught.value.message == "Some fields are invalid."
    assert caught.value.code == "validation_failed"


# --- due moments and overdue ------------------------------------------------------------


def test_a_timed_due_falls_due_at_its_wall_clock_time() -> None:
    due = Due(date(2026, 1, 15), time(9, 0))
    assert not due.all_day
    assert due.local == datetime(2026, 1, 15, 9, 0)  # noqa: DTZ001 (wall clock)
    assert due.moment(NEW_YORK) == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "moment"),
    [
        (date(2026, 1, 15), datetime(2026, 1, 16, 5, 0, tzinfo=UTC)),  # EST midnight
        (date(2026, 3, 7), datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # before the change
        (date(2026, 3, 8), datetime(2026, 3, 9, 4, 0, tzinfo=UTC)),  # EDT midnight
    ],
)
def test_an_all_day_due_falls_due_at_the_next_local_midnight(day: date, moment: datetime) -> None:
    due = Due(day)
    assert due.all_day
    assert due.local == datetime.combine(day, time(0))
    assert due.moment(NEW_YORK) == moment


def test_an_all_day_task_is_overdue_only_once_its_day_has_ended() -> None:
    task = make(due=Due(date(2026, 1, 15)), timezone="America/New_York")
    end_of_day = datetime(2026, 1, 16, 0, 0, tzinfo=NEW_YORK)
    assert task.due_at == end_of_day
    assert not task.is_overdue(datetime(2026, 1, 15, 9, 0, tzinfo=NEW_YORK))
    assert not task.is_overdue(end_of_day - timedelta(seconds=1))
    assert task.is_overdue(end_of_day)


def test_a_timed_task_is_overdue_from_its_moment() -> None:
    task = make(due=Due(date(2026, 1, 15), time(9, 0)), timezone="America/New_York")
    moment = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert not task.is_overdue(moment - timedelta(microseconds=1))
    assert task.is_overdue(moment)


def test_a_done_task_or_one_without_due_is_never_overdue() -> None:
    task = make(due=Due(date(2026, 1, 15), time(9, 0)))
    far_future = datetime(2030, 1, 1, tzinfo=UTC)
    task.complete(LATER)
    assert not task.is_overdue(far_future)
    assert not make().is_overdue(far_future)


def test_reminder_moments_resolve_relative_and_absolute_reminders() -> None:
    at = datetime(2026, 1, 10, 7, 0, tzinfo=UTC)
    task = make(
        due=Due(date(2026, 1, 15), time(9, 0)),
        reminders=(Reminder(minutes_before=90), Reminder(at=at)),
    )
    assert task.reminder_moments() == [datetime(2026, 1, 15, 7, 30, tzinfo=UTC), at]


# --- apply ------------------------------------------------------------------------------


def test_apply_returns_only_the_changed_fields_and_bumps_updated_at() -> None:
    task = make(description="same", priority=Priority.LOW)
    changed = task.apply(
        TaskChanges(title="  Rewrite report ", description="same", priority=Priority.HIGH), LATER
    )
    assert changed == {"title": "Rewrite report", "priority": Priority.HIGH}
    assert task.title == "Rewrite report"
    assert task.priority is Priority.HIGH
    assert task.updated_at == LATER
    assert task.created_at == CREATED


def test_apply_without_a_real_change_changes_nothing() -> None:
    task = make(tags=["work"])
    changes = TaskChanges(title=" Write report ", tags=frozenset({"WORK"}))
    assert task.apply(changes, LATER) == {}
    assert task.apply(TaskChanges(), LATER) == {}
    assert task.updated_at == CREATED


def test_apply_normalises_tags() -> None:
    task = make(tags=["old"])
    changed = task.apply(TaskChanges(tags=frozenset({" New", "new ", "Other"})), LATER)
    assert changed == {"tags": frozenset({"new", "other"})}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (TaskChanges(title=" "), [("title", "title_blank")]),
        (TaskChanges(title="t" * (TITLE_MAX + 1)), [("title", "title_too_long")]),
        (
            TaskChanges(description="d" * (DESCRIPTION_MAX + 1)),
            [("description", "description_too_long")],
        ),
        (TaskChanges(tags=frozenset({""})), [("tags", "tag_length")]),
        (TaskChanges(timezone="Atlantis/Capital"), [("timezone", "timezone_unknown")]),
        (TaskChanges(reminders=(Reminder(at=LATER),)), [("reminders.0", "reminder_in_past")]),
        (
            TaskChanges(reminders=(Reminder(minutes_before=5),)),
            [("reminders.0", "reminder_needs_due")],
        ),
        (TaskChanges(recurrence_rule="FREQ=DAILY"), [("recurrence", "recurrence_needs_due")]),
        (TaskChanges(due_time=time(9, 0)), [("due_time", "due_time_needs_date")]),
    ],
)
def test_apply_refuses_invalid_changes_and_leaves_the_task_alone(
    changes: TaskChanges, expected: list[tuple[str, str]]
) -> None:
    task = make(title="Keep me")
    before = (task.title, task.description, task.tags, task.timezone, task.reminders, task.due)
    assert refusal(lambda: task.apply(changes, LATER)) == expected
    assert (task.title, task.description, task.tags, task.timezone, task.reminders, task.due) == (
        before
    )
    assert task.recurrence is None
    assert task.updated_at == CREATED


def test_apply_reports_every_problem_at_once_and_applies_none_of_the_valid_ones() -> None:
    task = make()
    changes = TaskChanges(
        title="",
        description="d" * (DESCRIPTION_MAX + 1),
        priority=Priority.URGENT,
        timezone="No/Where",
    )
    assert refusal(lambda: task.apply(changes, LATER)) == [
        ("title", "title_blank"),
        ("description", "description_too_long"),
        ("timezone", "timezone_unknown"),
    ]
    assert task.priority is Priority.NONE


def test_apply_a_new_time_zone_moves_the_due_moment() -> None:
    task = make(due=Due(date(2026, 1, 15), time(9, 0)))
    assert task.due_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert task.apply(TaskChanges(timezone="America/New_York"), LATER) == {
        "timezone": "America/New_York"
    }
    assert task.due_at == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


def test_apply_checks_new_reminders_against_the_new_due() -> None:
    task = make(due=Due(date(2026, 3, 1), time(9, 0)))
    changes = TaskChanges(due_date=date(2026, 1, 2), reminders=(Reminder(minutes_before=30),))
    # The new due is 2 January 09:00 (the time is kept); the reminder is at 08:30.
    assert refusal(lambda: task.apply(changes, LATER + timedelta(hours=1))) == [
        ("reminders.0", "reminder_in_past")
    ]
    assert task.apply(changes, LATER) == {
        "due": Due(date(2026, 1, 2), time(9, 0)),
        "reminders": (Reminder(minutes_before=30),),
    }


def test_removing_the_due_is_refused_while_relative_reminders_depend_on_it() -> None:
    task = make(due=Due(date(2026, 3, 1), time(9, 0)), reminders=(Reminder(minutes_before=30),))
    assert refusal(lambda: task.apply(TaskChanges(due_date=None), LATER)) == [
        ("due", "reminder_needs_due")
    ]
    assert task.due == Due(date(2026, 3, 1), time(9, 0))
    # Removing both at once is fine.
    changed = task.apply(TaskChanges(due_date=None, reminders=()), LATER)
    assert changed == {"due": None, "reminders": ()}


def test_removing_the_due_keeps_absolute_reminders() -> None:
    at = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    task = make(due=Due(date(2026, 3, 1), time(9, 0)), reminders=(Reminder(at=at),))
    assert task.apply(TaskChanges(due_date=None), LATER) == {"due": None}
    assert task.reminder_moments() == [at]


def test_removing_the_due_of_a_repeating_task_is_refused() -> None:
    task = make(due=Due(date(2026, 3, 1), time(9, 0)), recurrence_rule="FREQ=DAILY")
    assert refusal(lambda: task.apply(TaskChanges(due_date=None), LATER)) == [
        ("recurrence", "recurrence_needs_due")
    ]


def test_apply_can_make_a_due_all_day_or_give_it_a_time() -> None:
    task = make(due=Due(date(2026, 3, 1), time(9, 0)))
    assert task.apply(TaskChanges(due_time=None), LATER) == {"due": Due(date(2026, 3, 1))}
    assert task.apply(TaskChanges(due_date=date(2026, 3, 2)), LATER) == {
        "due": Due(date(2026, 3, 2))
    }
    assert task.apply(TaskChanges(due_time=time(17, 30)), LATER) == {
        "due": Due(date(2026, 3, 2), time(17, 30))
    }


def test_apply_adding_a_recurrence_starts_a_series_at_the_due() -> None:
    task = make(due=Due(date(2026, 3, 1), time(9, 0)))
    changed = task.apply(TaskChanges(recurrence_rule="freq=monthly"), LATER)
    assert list(changed) == ["recurrence"]
    assert task.recurrence is not None
    assert task.recurrence.rule == "FREQ=MONTHLY"
    assert task.recurrence.start == datetime(2026, 3, 1, 9, 0)  # noqa: DTZ001 (wall clock)
    assert task.series_id == "t1"
    assert task.updated_at == LATER


def test_apply_re_anchors_the_series_when_the_due_moves() -> None:
    task = make(due=Due(date(2026, 1, 31), time(9, 0)), recurrence_rule="FREQ=MONTHLY")
    task.apply(TaskChanges(recurrence_anchor=RecurrenceAnchor.COMPLETION), LATER)
    task.apply(TaskChanges(recurrence_rule="rrule:freq=monthly"), LATER)  # same rule, other case
    assert task.recurrence is not None
    assert task.recurrence.anchor is RecurrenceAnchor.COMPLETION
    assert task.recurrence.start == datetime(2026, 1, 31, 9, 0)  # noqa: DTZ001 (wall clock)
    # Moving the due moves the series: monthly from the 15th, not from the 31st.
    task.apply(TaskChanges(due_date=date(2026, 2, 15)), LATER)
    assert task.recurrence.start == datetime(2026, 2, 15, 9, 0)  # noqa: DTZ001 (wall clock)
    assert task.recurrence.anchor is RecurrenceAnchor.COMPLETION


def test_apply_can_stop_a_task_repeating() -> None:
    task = make(due=Due(date(2026, 3, 1), time(9, 0)), recurrence_rule="FREQ=DAILY")
    assert task.apply(TaskChanges(recurrence_rule=None), LATER) == {"recurrence": None}
    assert task.recurrence is None


def test_apply_refuses_an_invalid_rule_or_an_hourly_all_day_task() -> None:
    task = make(due=Due(date(2026, 3, 1)))
    assert refusal(
        lambda: task.apply(TaskChanges(recurrence_rule="FREQ=DAILY;COUNT=0"), LATER)
    ) == [("recurrence.rule", "rule_invalid")]
    assert refusal(lambda: task.apply(TaskChanges(recurrence_rule="FREQ=HOURLY"), LATER)) == [
        ("recurrence.rule", "rule_needs_time")
    ]
    hourly = make(due=Due(date(2026, 3, 1), time(9, 0)), recurrence_rule="FREQ=HOURLY")
    assert refusal(lambda: hourly.apply(TaskChanges(due_time=None), LATER)) == [
        ("recurrence.rule", "rule_needs_time")
    ]


# --- complete and reopen ----------------------------------------------------------------


def test_complete_is_idempotent() -> None:
    task = make()
    assert task.complete(LATER)
    assert (task.status, task.completed_at, task.updated_at) == (Status.DONE, LATER, LATER)
    again = LATER + timedelta(hours=1)
    assert not task.complete(again)
    assert (task.status, task.completed_at, task.updated_at) == (Status.DONE, LATER, LATER)


def test_reopen_is_idempotent() -> None:
    task = make()
    assert not task.reopen(LATER)
    assert task.updated_at == CREATED
    task.complete(LATER)
    reopened_at = LATER + timedelta(hours=1)
    assert task.reopen(reopened_at)
    assert (task.status, task.completed_at, task.updated_at) == (Status.OPEN, None, reopened_at)
    assert not task.reopen(reopened_at + timedelta(hours=1))
    assert task.updated_at == reopened_at


# --- the next occurrence ---------------------------------------------------------------


def test_only_a_completed_repeating_task_with_a_due_has_a_next_occurrence() -> None:
    plain = make(due=Due(date(2026, 1, 5), time(9, 0)))
    plain.complete(LATER)
    assert plain.next_occurrence("t2", LATER) is None
    repeating = make(due=Due(date(2026, 1, 5), time(9, 0)), recurrence_rule="FREQ=DAILY")
    assert repeating.next_occurrence("t2", LATER) is None  # not completed yet


def test_the_next_occurrence_is_a_fresh_open_copy_in_the_same_series() -> None:
    task = make(
        title="Water plants",
        description="The ones on the balcony",
        priority=Priority.MEDIUM,
        tags=["home"],
        timezone="Europe/Berlin",
        due=Due(date(2026, 1, 5), time(9, 0)),
        recurrence_rule="FREQ=DAILY",
    )
    done_at = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    task.complete(done_at)
    nxt = task.next_occurrence("t2", done_at)
    assert nxt is not None
    assert (nxt.id, nxt.owner_id, nxt.series_id, nxt.occurrence) == ("t2", "u1", "t1", 2)
    assert (nxt.title, nxt.description, nxt.priority, nxt.tags, nxt.timezone) == (
        task.title,
        task.description,
        task.priority,
        task.tags,
        task.timezone,
    )
    assert nxt.recurrence == task.recurrence
    assert nxt.due == Due(date(2026, 1, 6), time(9, 0))
    assert (nxt.status, nxt.completed_at, nxt.version) == (Status.OPEN, None, 1)
    assert nxt.created_at == nxt.updated_at == done_at
    # The completed task itself is left as it was.
    assert task.status is Status.DONE
    assert task.due == Due(date(2026, 1, 5), time(9, 0))


def test_a_series_keeps_its_first_tasks_id() -> None:
    task = make(due=Due(date(2026, 1, 5), time(9, 0)), recurrence_rule="FREQ=DAILY")
    second = advance(task, "t2")
    third = advance(second, "t3")
    assert (second.series_id, third.series_id) == ("t1", "t1")
    assert (second.occurrence, third.occurrence) == (2, 3)


def test_a_late_completion_skips_to_the_next_upcoming_occurrence() -> None:
    task = make(due=Due(date(2026, 1, 5), time(9, 0)), recurrence_rule="FREQ=WEEKLY;BYDAY=MO,TH")
    # Completed on Tuesday 13 January: Thursday 8 and Monday 12 are skipped but counted.
    nxt = advance(task, "t2", datetime(2026, 1, 13, 10, 0, tzinfo=UTC))
    assert nxt.due == Due(date(2026, 1, 15), time(9, 0))
    assert nxt.occurrence == 4


def test_the_series_ends_after_count_occurrences() -> None:
    task = make(due=Due(date(2026, 1, 5), time(9, 0)), recurrence_rule="FREQ=DAILY;COUNT=3")
    third = advance(advance(task, "t2"), "t3")
    assert third.occurrence == 3
    third.complete(datetime(2026, 1, 7, 9, 0, tzinfo=UTC))
    assert third.next_occurrence("t4", LATER) is None


def test_the_series_ends_at_until() -> None:
    task = make(
        due=Due(date(2026, 1, 5), time(9, 0)),
        timezone="America/New_York",
        recurrence_rule="FREQ=DAILY;UNTIL=20260106T140000Z",  # 09:00 in New York
    )
    second = advance(task, "t2")
    assert second.due == Due(date(2026, 1, 6), time(9, 0))
    second.complete(datetime(2026, 1, 6, 14, 0, tzinfo=UTC))
    assert second.next_occurrence("t3", LATER) is None


@pytest.mark.parametrize(
    ("year", "days"),
    [
        (2028, [29, 31, 30, 31, 30, 31]),
        (2027, [28, 31, 30, 31, 30, 31]),
    ],
)
def test_monthly_from_the_31st_clamps_and_returns_to_the_31st(year: int, days: list[int]) -> None:
    task = make(due=Due(date(year, 1, 31), time(9, 0)), recurrence_rule="FREQ=MONTHLY")
    dues = []
    for n in range(len(days)):
        task = advance(task, f"t{n + 2}")
        dues.append(local_due(task))
    assert dues == [datetime(year, 2 + n, day, 9, 0) for n, day in enumerate(days)]  # noqa: DTZ001
    assert task.occurrence == len(days) + 1


def test_explicit_bymonthday_31_skips_short_months() -> None:
    task = make(due=Due(date(2027, 1, 31)), recurrence_rule="FREQ=MONTHLY;BYMONTHDAY=31")
    second = advance(task, "t2")
    third = advance(second, "t3")
    assert (second.due, third.due) == (Due(date(2027, 3, 31)), Due(date(2027, 5, 31)))
    assert (second.occurrence, third.occurrence) == (2, 3)


def test_bymonthday_minus_one_is_always_the_last_day() -> None:
    task = make(due=Due(date(2028, 1, 31)), recurrence_rule="FREQ=MONTHLY;BYMONTHDAY=-1")
    second = advance(task, "t2")
    third = advance(second, "t3")
    fourth = advance(third, "t4")
    assert [t.due for t in (second, third, fourth)] == [
        Due(date(2028, 2, 29)),
        Due(date(2028, 3, 31)),
        Due(date(2028, 4, 30)),
    ]


def test_yearly_from_feb_29_falls_on_feb_28_in_common_years() -> None:
    task = make(due=Due(date(2028, 2, 29), time(8, 0)), recurrence_rule="FREQ=YEARLY")
    dues = []
    for n in range(4):
        task = advance(task, f"t{n + 2}")
        dues.append(task.due)
    assert dues == [
        Due(date(2029, 2, 28), time(8, 0)),
        Due(date(2030, 2, 28), time(8, 0)),
        Due(date(2031, 2, 28), time(8, 0)),
        Due(date(2032, 2, 29), time(8, 0)),
    ]


@pytest.mark.parametrize(
    ("timezone", "first", "utc_hours"),
    [
        ("America/New_York", date(2026, 3, 6), [14, 14, 13, 13]),
        ("America/New_York", date(2026, 10, 30), [13, 13, 14, 14]),
        ("Europe/Berlin", date(2026, 3, 27), [8, 8, 7, 7]),
        ("Europe/Berlin", date(2026, 10, 23), [7, 7, 8, 8]),
    ],
)
def test_a_daily_0900_task_stays_at_0900_local_across_dst(
    timezone: str, first: date, utc_hours: list[int]
) -> None:
    task = make(due=Due(first, time(9, 0)), timezone=timezone, recurrence_rule="FREQ=DAILY")
    tasks = [task]
    for n in range(3):
        tasks.append(advance(tasks[-1], f"t{n + 2}"))
    assert [t.due for t in tasks] == [Due(first + timedelta(days=n), time(9, 0)) for n in range(4)]
    moments = [t.due_at for t in tasks]
    assert [m.hour for m in moments if m is not None] == utc_hours
    assert all(m is not None and m.astimezone(task.tz).hour == 9 for m in moments)


def test_a_0230_task_on_the_spring_forward_day_falls_due_at_0330() -> None:
    task = make(
        due=Due(date(2026, 3, 7), time(2, 30)),
        timezone="America/New_York",
        recurrence_rule="FREQ=DAILY",
    )
    gap_day = advance(task, "t2")
    assert gap_day.due == Due(date(2026, 3, 8), time(2, 30))
    assert gap_day.due_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert gap_day.due_at.astimezone(NEW_YORK).time() == time(3, 30)
    after = advance(gap_day, "t3")
    assert after.due == Due(date(2026, 3, 9), time(2, 30))
    assert after.due_at == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_reminders_follow_the_next_occurrence() -> None:
    absolute = datetime(2026, 1, 4, 18, 0, tzinfo=UTC)  # the evening before
    task = make(
        due=Due(date(2026, 1, 5), time(9, 0)),
        reminders=(Reminder(minutes_before=15), Reminder(at=absolute)),
        recurrence_rule="FREQ=DAILY",
    )
    # Completed three days late: the next due is 9 January, four days on.
    nxt = advance(task, "t2", datetime(2026, 1, 8, 10, 0, tzinfo=UTC))
    assert nxt.due == Due(date(2026, 1, 9), time(9, 0))
    assert nxt.reminders == (Reminder(minutes_before=15), Reminder(at=absolute + timedelta(days=4)))
    assert nxt.reminder_moments() == [
        datetime(2026, 1, 9, 8, 45, tzinfo=UTC),
        datetime(2026, 1, 8, 18, 0, tzinfo=UTC),
    ]


def test_absolute_reminders_shift_by_the_real_delta_across_dst() -> None:
    evening_before = datetime(2026, 3, 6, 20, 0, tzinfo=NEW_YORK)
    task = make(
        due=Due(date(2026, 3, 7), time(9, 0)),
        timezone="America/New_York",
        reminders=(Reminder(at=evening_before.astimezone(UTC)),),
        recurrence_rule="FREQ=DAILY",
    )
    nxt = advance(task, "t2")
    assert nxt.due == Due(date(2026, 3, 8), time(9, 0))
    # 8 March 09:00 EDT is only 23 hours after 7 March 09:00 EST. The reminder moves by
    # the same 23 hours: it keeps its distance (13 hours) from the due, not its wall clock.
    (moment,) = nxt.reminder_moments()
    assert moment == evening_before + timedelta(hours=23)
    assert nxt.due_at is not None
    assert nxt.due_at - moment == timedelta(hours=13)
    assert moment.astimezone(NEW_YORK).hour == 19


def test_an_all_day_series_completed_late_continues_from_the_completion_day() -> None:
    task = make(
        due=Due(date(2026, 1, 5)), timezone="America/New_York", recurrence_rule="FREQ=DAILY"
    )
    # 03:00Z on 9 January is still 8 January in New York; 8 January has not ended.
    nxt = advance(task, "t2", datetime(2026, 1, 9, 3, 0, tzinfo=UTC))
    assert (nxt.due, nxt.occurrence) == (Due(date(2026, 1, 8)), 4)
    assert nxt.due_at == datetime(2026, 1, 9, 5, 0, tzinfo=UTC)  # the end of 8 January


def test_an_all_day_series_completed_on_time_moves_to_the_next_day() -> None:
    task = make(due=Due(date(2026, 1, 5)), recurrence_rule="FREQ=DAILY")
    nxt = advance(task, "t2", datetime(2026, 1, 5, 23, 59, tzinfo=UTC))
    assert nxt.due == Due(date(2026, 1, 6))


def test_completion_anchor_repeats_from_the_day_it_was_done() -> None:
    task = make(
        due=Due(date(2026, 1, 5), time(9, 0)),
        recurrence_rule="FREQ=DAILY;INTERVAL=10;COUNT=2",
        recurrence_anchor=RecurrenceAnchor.COMPLETION,
    )
    nxt = advance(task, "t2", datetime(2026, 1, 7, 18, 0, tzinfo=UTC))
    assert (nxt.due, nxt.occurrence) == (Due(date(2026, 1, 17), time(9, 0)), 2)
    nxt.complete(datetime(2026, 1, 17, 9, 0, tzinfo=UTC))
    assert nxt.next_occurrence("t3", LATER) is None
