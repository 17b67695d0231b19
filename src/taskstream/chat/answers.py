"""The assistant's sentences: what it did, with every date in the user's time zone.

Pure functions of the tool results and the moment: the same results always read the same.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo

from taskstream.chat.tools import Deleted, TaskList, ToolResult
from taskstream.entrypoints.api.schemas import TaskPublic

SHOWN_MAX: Final = 20
"""A listing shows at most this many tasks in the answer (all of them are in the result)."""

_FREQ: Final = {
    "DAILY": "every day",
    "WEEKLY": "every week",
    "MONTHLY": "every month",
    "YEARLY": "every year",
    "HOURLY": "every hour",
}
_DAYS: Final = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}


def quoted(title: str) -> str:
    return f"“{title}”"


def day_phrase(day: date, today: date) -> str:
    """'today', 'tomorrow', 'yesterday', or 'Tue 1 Dec' (with the year when not this one)."""
    offset = (day - today).days
    named = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(offset)
    label = f"{day:%a} {day.day} {day:%b}" + ("" if day.year == today.year else f" {day.year}")
    return f"{named} ({label})" if named else label


def moment_phrase(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """A moment as the user reads it: 'tomorrow (Tue 1 Dec) at 18:00'."""
    local = moment.astimezone(tz)
    return f"{day_phrase(local.date(), now.astimezone(tz).date())} at {local:%H:%M}"


def due_phrase(task: TaskPublic, tz: ZoneInfo, now: datetime) -> str | None:
    """When the task is due, in the user's zone (an all-day due stays on its date)."""
    if task.due_date is None:
        return None
    today = now.astimezone(tz).date()
    if task.due_time is None:
        return day_phrase(task.due_date, today)
    if task.due_at is not None and task.timezone != tz.key:
        return moment_phrase(task.due_at, tz, now)
    return f"{day_phrase(task.due_date, today)} at {_clock(task.due_time)}"


def _clock(moment: time) -> str:
    return f"{moment:%H:%M}"


def repeat_phrase(rule: str) -> str:
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    interval = int(parts.get("INTERVAL", "1") or 1)
    freq = parts.get("FREQ", "")
    text = _FREQ.get(freq, f"by the rule {rule}")
    if interval == 2:
        unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
        text = f"every other {unit.get(freq, 'time')}"
    elif interval > 2:
        unit = {"DAILY": "days", "WEEKLY": "weeks", "MONTHLY": "months", "YEARLY": "years"}
        text = f"every {interval} {unit.get(freq, 'times')}"
    if "BYDAY" in parts:
        days = [_DAYS.get(d[-2:], d) for d in parts["BYDAY"].split(",")]
        if set(parts["BYDAY"].split(",")) == {"MO", "TU", "WE", "TH", "FR"} and interval == 1:
            text = "every weekday"
        elif interval == 2:
            text = f"every other {_and(days)}"
        elif interval > 2:
            text = f"every {interval} weeks on {_and(days)}"
        else:
            text = f"every {_and(days)}"
    if parts.get("BYMONTHDAY") == "-1":
        text = "on the last day of every month"
    return text


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def details(task: TaskPublic, tz: ZoneInfo, now: datetime) -> list[str]:
    """The facts of a task worth saying: due, priority, tags, repeat, reminders."""
    said: list[str] = []
    due = due_phrase(task, tz, now)
    if due:
        said.append(f"due {due}")
    if task.priority.value != "none":
        said.append(f"{task.priority.value} priority")
    if task.tags:
        said.append("tagged " + " ".join(f"#{t}" for t in task.tags))
    if task.recurrence:
        anchor = " after each completion" if task.recurrence.anchor.value == "completion" else ""
        said.append(f"repeating {repeat_phrase(task.recurrence.rule)}{anchor}")
    for reminder in task.reminders:
        if reminder.remind_at is not None:
            said.append(f"with a reminder {moment_phrase(reminder.remind_at, tz, now)}")
    return said


def _with(task: TaskPublic, tz: ZoneInfo, now: datetime) -> str:
    said = details(task, tz, now)
    return f"{quoted(task.title)}" + (f", {', '.join(said)}" if said else "")


def listing(result: TaskList, tz: ZoneInfo, now: datetime, *, searched: bool) -> str:
    if not result.tasks:
        return "No task matches that." if searched else "You have no tasks like that."
    count = len(result.tasks)
    head = (
        f"I found {count} task{'s' if count != 1 else ''}:"
        if searched
        else f"Here {'are' if count != 1 else 'is'} {count} task{'s' if count != 1 else ''}"
        f"{' (and more)' if result.more else ''}:"
    )
    lines = [head]
    for number, task in enumerate(result.tasks[:SHOWN_MAX], start=1):
        said = details(task, tz, now)
        done = " (done)" if task.status.value == "done" else ""
        overdue = " (overdue)" if task.overdue else ""
        lines.append(
            f"{number}. {task.title}{done}{overdue}" + (f" — {', '.join(said)}" if said else "")
        )
    if count > SHOWN_MAX:
        lines.append(f"…and {count - SHOWN_MAX} more.")
    return "\n".join(lines)


def done_sentence(
    name: str, arguments: dict[str, Any], result: ToolResult, tz: ZoneInfo, now: datetime
) -> str:
    """One sentence saying what a successful call did."""
    if isinstance(result, TaskList):
        return listing(result, tz, now, searched=name == "search_tasks")
    if isinstance(result, Deleted):
        return f"Deleted {quoted(result.title)}."
    if name == "add_task":
        return f"Added {_with(result, tz, now)}."
    if name == "complete_task":
        repeat = ""
        if result.recurrence:
            repeat = " The next one will appear shortly."
        return f"Marked {quoted(result.title)} as done.{repeat}"
    if name == "reopen_task":
        return f"Reopened {quoted(result.title)}."
    if name == "set_reminder":
        moments = [r.remind_at for r in result.reminders if r.remind_at is not None]
        if moments:
            latest = max(moments) if arguments.get("at") else _newest(result, arguments)
            return f"I'll remind you about {quoted(result.title)} {moment_phrase(latest, tz, now)}."
        return f"Added a reminder to {quoted(result.title)}."
    changed = [k for k in arguments if k != "task_id"]
    return f"Updated {quoted(result.title)}: {_changes(result, changed, tz, now)}."


def _newest(task: TaskPublic, arguments: dict[str, Any]) -> datetime:
    before = arguments.get("minutes_before")
    for reminder in reversed(task.reminders):
        if reminder.minutes_before == before and reminder.remind_at is not None:
            return reminder.remind_at
    return next(r.remind_at for r in reversed(task.reminders) if r.remind_at is not None)


def _changes(task: TaskPublic, changed: list[str], tz: ZoneInfo, now: datetime) -> str:
    said: list[str] = []
    if "title" in changed:
        said.append(f"now called {quoted(task.title)}")
    if {"due_date", "due_time", "timezone"} & set(changed):
        due = due_phrase(task, tz, now)
        said.append(f"due {due}" if due else "no due date")
    if "priority" in changed:
        said.append(f"{task.priority.value} priority")
    if "tags" in changed:
        said.append("tagged " + " ".join(f"#{t}" for t in task.tags) if task.tags else "no tags")
    if "description" in changed:
        said.append("new description")
    if "recurrence" in changed:
        said.append(
            f"repeating {repeat_phrase(task.recurrence.rule)}"
            if task.recurrence
            else "no longer repeating"
        )
    if "reminders" in changed:
        said.append(
            f"{len(task.reminders)} reminder{'s' if len(task.reminders) != 1 else ''}"
            if task.reminders
            else "no reminders"
        )
    return ", ".join(said) or "nothing changed"


def failed_sentence(name: str, title: str | None, message: str) -> str:
    what = {
        "add_task": "add that task",
        "list_tasks": "list your tasks",
        "search_tasks": "search your tasks",
        "update_task": "change",
        "complete_task": "complete",
        "reopen_task": "reopen",
        "delete_task": "delete",
        "set_reminder": "set a reminder on",
    }.get(name, name)
    target = f" {quoted(title)}" if title and name not in {"add_task", "list_tasks"} else ""
    if name == "set_reminder" and not target:
        what = "set that reminder"
    return f"I couldn't {what}{target}: {message}"


def pending_sentence(name: str, arguments: dict[str, Any], title: str) -> str:
    """What a call waiting for confirmation will do."""
    if name == "delete_task":
        return f"delete {quoted(title)}"
    if name == "complete_task":
        return f"mark {quoted(title)} as done"
    if name == "reopen_task":
        return f"reopen {quoted(title)}"
    if name == "set_reminder":
        return f"add a reminder to {quoted(title)}"
    fields = ", ".join(_field_value(k, v) for k, v in arguments.items() if k != "task_id")
    return f"change {quoted(title)} ({fields})"


def _field_value(name: str, value: Any) -> str:
    if value is None:
        return f"clear {name.replace('_', ' ')}"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = value.get("rule", value)
    return f"{name.replace('_', ' ')} {value}"
