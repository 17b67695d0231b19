"""From what a pass found to tool arguments: due fields, recurrence, reminders, title.

Also the answers a planner gives instead of a call when a reference fails: a question
(which task? which of these?) or a reply (no such task).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta
from typing import Any, Final

from taskstream.chat.offline import references as refs
from taskstream.chat.offline.conversation import Message
from taskstream.chat.offline.dates import Clock
from taskstream.chat.offline.lexer import Kind, Token
from taskstream.chat.offline.recurrence import first_due
from taskstream.chat.offline.slots import Slots, cut_title
from taskstream.chat.plan import Plan

_DETERMINERS: Final = {"the", "my", "that", "this", "it", "number", "task", "no", "last", "#"}


def due_arguments(slots: Slots, clock: Clock, *, update: bool = False) -> dict[str, Any]:
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


def reminder_arguments(
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


def question_for(resolution: refs.Resolution, action: str) -> Plan:
    if isinstance(resolution, refs.Ambiguous):
        return Plan(question=refs.which_question(resolution.options))
    if isinstance(resolution, refs.NotFound):
        return Plan(reply=resolution.why)
    return Plan(question=f"Which task should I {action}?")


def unclaimed(m: Message, slots: Slots, lo: int, hi: int) -> list[Token]:
    return [m.tokens[k] for k in range(lo, hi) if not slots.claimed[k]]


def title_of(m: Message, slots: Slots, lo: int, hi: int) -> str:
    if slots.quoted is not None:
        return slots.quoted.strip()
    keep = [lo <= k < hi and not slots.claimed[k] for k in range(len(m.tokens))]
    return cut_title(m.text, m.tokens, keep)


def definite(tokens: Sequence[Token]) -> bool:
    """Does a phrase point at a task that exists ("the report", "my", "2", "it")?"""
    content = [t for t in tokens if t.kind is not Kind.PUNCT or t.text == "#"]
    if not content:
        return False
    first = content[0]
    return first.kind in {Kind.NUMBER, Kind.ORDINAL, Kind.REF, Kind.QUOTED} or (
        first.norm in _DETERMINERS
    )
