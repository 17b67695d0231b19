"""The assistant's sentences: dates in the user's zone, repeats in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from taskstream.chat.answers import (
    day_phrase,
    done_sentence,
    due_phrase,
    failed_sentence,
    moment_phrase,
    repeat_phrase,
)
from taskstream.domain.tasks import Due, Priority, Reminder, Task
from taskstream.entrypoints.api.schemas import TaskPublic

NOW = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)  # already Tuesday 1 Dec in Tokyo
TOKYO = ZoneInfo("Asia/Tokyo")
PARIS = ZoneInfo("Europe/Paris")


def _task(**fields: object) -> TaskPublic:
    task = Task(
        id="t-1",
        owner_id="u-1",
        title="Call mom",
        timezone="Europe/Paris",
        created_at=NOW,
        updated_at=NOW,
        **fields,  # type: ignore[arg-type]
    )
    return TaskPublic.of(task, NOW)


def test_days_are_named_relative_to_the_users_today() -> None:
    today = date(2026, 11, 30)
    assert day_phrase(today, today) == "today (Mon 30 Nov)"
    assert day_phrase(date(2026, 12, 1), today) == "tomorrow (Tue 1 Dec)"
    assert day_phrase(date(2026, 11, 29), today) == "yesterday (Sun 29 Nov)"
    assert day_phrase(date(2027, 1, 8), today) == "Fri 8 Jan 2027"


def test_a_moment_is_told_in_the_users_zone() -> None:
    assert moment_phrase(NOW, TOKYO, NOW) == "today (Tue 1 Dec) at 07:30"
    assert moment_phrase(NOW, PARIS, NOW) == "today (Mon 30 Nov) at 23:30"


def test_a_due_in_another_zone_is_converted_and_an_all_day_one_keeps_its_date() -> None:
    timed = _task(due=Due(date(2026, 12, 1), time(18, 0)))
    assert due_phrase(timed, PARIS, NOW) == "tomorrow (Tue 1 Dec) at 18:00"
    assert due_phrase(timed, TOKYO, NOW) == "tomorrow (Wed 2 Dec) at 02:00"
    all_day = _task(due=Due(date(2026, 12, 1)))
    assert due_phrase(all_day, TOKYO, NOW) == "today (Tue 1 Dec)"


def test_repeats_read_as_words() -> None:
    assert repeat_phrase("FREQ=DAILY") == "every day"
    assert repeat_phrase("FREQ=WEEKLY;BYDAY=TU;INTERVAL=2") == "every other Tuesday"
    assert (
        repeat_phrase("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,WE")
        == "every 3 weeks on Monday and Wednesday"
    )
    assert repeat_phrase("FREQ=DAILY;INTERVAL=2") == "every other day"
    assert repeat_phrase("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR") == "every weekday"
    assert repeat_phrase("FREQ=MONTHLY;BYMONTHDAY=-1") == "on the last day of every month"
    assert repeat_phrase("FREQ=DAILY;INTERVAL=3") == "every 3 days"


def test_an_added_task_says_everything_that_was_understood() -> None:
    task = _task(
        due=Due(date(2026, 12, 1), time(18, 0)),
        priority=Priority.HIGH,
        tags=frozenset({"family"}),
        reminders=(Reminder(minutes_before=30),),
    )
    assert done_sentence("add_task", {}, task, PARIS, NOW) == (
        "Added “Call mom”, due tomorrow (Tue 1 Dec) at 18:00, high priority, tagged #family, "
        "with a reminder tomorrow (Tue 1 Dec) at 17:30."
    )
    moved = done_sentence("update_task", {"task_id": "t-1", "due_time": "18:00"}, task, PARIS, NOW)
    assert moved == "Updated “Call mom”: due tomorrow (Tue 1 Dec) at 18:00."


def test_a_refusal_names_the_task_and_the_reason() -> None:
    assert (
        failed_sentence("delete_task", "Call mom", "The task changed.")
        == "I couldn't delete “Call mom”: The task changed."
    )
    assert failed_sentence("add_task", None, "A title is required.") == (
        "I couldn't add that task: A title is required."
    )
