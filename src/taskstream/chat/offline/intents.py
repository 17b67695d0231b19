"""From a message to a `Plan`: which tool, with which arguments.

The opening words choose the intent ("add", "show", "done with", "move", "delete", ...),
after polite fillers ("please", "can you") are skipped; a message that opens with no
known verb is a quick add, the whole message being the task ("Buy milk tomorrow 5pm").
Verbs that are also ordinary title words ("create", "move", "finish", "complete") act
only when what follows fits them: "Create monthly report" and "Move old monitor" are
new tasks, "move the dentist to Friday" reschedules one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from taskstream.chat.offline import references as refs
from taskstream.chat.offline.arguments import (
    definite,
    due_arguments,
    question_for,
    reminder_arguments,
    title_of,
    unclaimed,
)
from taskstream.chat.offline.conversation import HELP, Message, bounds, confirmation, small_talk
from taskstream.chat.offline.dates import Clock, parse_when
from taskstream.chat.offline.lexer import Kind, Token, tokenize
from taskstream.chat.offline.listing import (
    SET_MARKERS,
    bulk,
    detect_list,
    detect_search,
    is_set,
)
from taskstream.chat.offline.slots import LEVELS, Slots, scan
from taskstream.chat.plan import Plan, PlanContext, ToolCall

_DELETE_VERBS: Final = {
    "delete",
    "remove",
    "drop",
    "trash",
    "erase",
    "discard",
    "del",
    "cancel",
    "scratch",
}


_REOPEN_VERBS: Final = {"reopen", "undo", "uncheck", "unmark", "uncomplete", "unfinish", "restore"}


_DONE_WORDS: Final = {"done", "finished", "completed", "complete", "checked", "ticked"}


_NOT_DONE: Final = {"undone", "incomplete", "open", "unfinished", "uncompleted", "todo", "pending"}


_MOVE_VERBS: Final = {
    "snooze",
    "move",
    "reschedule",
    "postpone",
    "push",
    "delay",
    "shift",
    "bump",
    "defer",
}


_CHANGE_VERBS: Final = {"change", "update", "edit", "set", "make", "modify", "mark"}


def plan_message(text: str, context: PlanContext) -> Plan:
    tokens = tokenize(text)
    message = Message(text, tokens, Clock.of(context.now, context.timezone), context)
    if not any(t.kind is not Kind.PUNCT for t in tokens):
        return Plan(reply=HELP)
    if context.awaiting_confirmation:
        answer = confirmation(message)
        if answer is not None:
            return Plan(confirmed=answer)
    chat = small_talk(message)
    if chat is not None:
        return Plan(reply=chat)
    lo, hi = bounds(message)
    if lo >= hi:
        return Plan(reply=HELP)
    for detect in _DETECTORS:
        plan = detect(message, lo, hi)
        if plan is not None:
            return plan
    return _add(message, lo, hi)


_TASK_NOUNS: Final = {"task", "todo", "to-do", "item", "reminder", "entry", "note"}


def _skip_task_noun(m: Message, i: int) -> int:
    """After "add"/"create": "a new task to", "task:", "a todo called"."""
    j = i
    if m.w(j) in {"a", "an", "another"}:
        j += 1
    if m.w(j) == "new":
        j += 1
    if m.w(j) == "to" and m.w(j + 1) == "do":
        j += 2
    elif m.w(j) in _TASK_NOUNS:
        j += 1
    else:
        return i
    if j < len(m.tokens) and m.tokens[j].text == ":":
        return j + 1
    if m.w(j) == "for" and m.w(j + 1) in {"me", "us", "myself"}:
        j += 2  # "add a task for me: ..."
        return j + (j < len(m.tokens) and m.tokens[j].text in {":", ","})
    if m.w(j) in {"to", "called", "named", "titled", "for", "that", "saying"}:
        return j + 1
    if m.w(j) == "with" and m.w(j + 1) in {"title", "name"}:
        return j + 2
    return j


def _list_phrase(m: Message, lo: int, hi: int) -> tuple[int, int] | None:
    """ "on my todo list", "to the list", "to my tasks": where the task goes, not its title."""
    for k in range(lo + 1, hi):
        if m.w(k) in {"on", "to", "onto"} and m.w(k + 1) in {"my", "the"}:
            if m.w(k + 2) in {"todo", "to-do", "task"} and m.w(k + 3) == "list":
                return k, k + 4
            if m.w(k + 2) in {"list", "tasks", "todos", "todo"}:
                return k, k + 3
    return None


def _add(m: Message, lo: int, hi: int, *, remind: bool = False) -> Plan:
    slots = scan(m.tokens, m.clock, lo, hi)
    where = _list_phrase(m, lo, hi)
    if where is not None:
        for k in range(*where):
            slots.claimed[k] = True
    title = title_of(m, slots, lo, hi)
    if not title:
        return Plan(question="What should the task be called?")
    if remind and title.lower().startswith("to ") and slots.quoted is None:
        title = title[3:].strip()
    args: dict[str, Any] = {"title": title}
    args.update(due_arguments(slots, m.clock))
    if slots.priority is not None and slots.priority != "none":
        args["priority"] = slots.priority
    if slots.tags:
        args["tags"] = list(slots.tags)
    reminders = reminder_arguments(slots, m.clock, args, remind=remind)
    if reminders:
        args["reminders"] = reminders
    return Plan(calls=(ToolCall("add_task", args),))


def _detect_add(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w == "add":
        if m.w(lo + 1) in {"a", "an"} and m.w(lo + 2) in {"reminder", "alert"}:
            return None  # a reminder: _detect_reminder's
        if m.w(lo + 1) in {"tag", "tags", "label", "note", "description"} or (
            m.w(lo + 1) in {"a", "the"} and m.w(lo + 2) in {"tag", "label", "note", "description"}
        ):
            return None  # a change to a task
        return _add(m, _skip_task_noun(m, lo + 1), hi)
    if w == "put" and _list_phrase(m, lo + 1, hi) is not None:
        return _add(m, lo + 1, hi)
    if w in {"create", "new", "make", "schedule", "put"}:
        j = _skip_task_noun(m, lo + (w != "new")) if w != "new" else _skip_task_noun(m, lo)
        if j > lo + 1 or (w == "new" and j > lo):
            noun = {m.w(k) for k in range(lo, j)}
            return _add(m, j, hi, remind="reminder" in noun)
        return None
    if w in {"todo", "task", "reminder"} and lo + 1 < hi and m.tokens[lo + 1].text == ":":
        return _add(m, lo + 2, hi, remind=w == "reminder")
    if w in {"remind", "remember"} and m.w(lo + 1) == "me" and m.w(lo + 2) == "to":
        return _add(m, lo + 3, hi, remind=True)
    if w in {"remind", "remember"} and m.w(lo + 1) == "me" and m.w(lo + 2) in {"that", "i"}:
        return _add(m, lo + 3 - (m.w(lo + 2) == "i"), hi, remind=True)
    if w == "remind" and m.w(lo + 1) == "me" and m.w(lo + 2) not in {"about", "of", "regarding"}:
        return _add(m, lo + 2, hi, remind=True)  # "remind me in an hour to stretch"
    if w == "remember" and m.w(lo + 1) == "to":
        return _add(m, lo + 2, hi)
    if (w in {"don't", "dont"} or m.at(lo, "do", "not")) and "forget" in {
        m.w(lo + 1),
        m.w(lo + 2),
    }:
        j = lo + 2 + (w == "do")
        j += m.w(j) == "to"
        return _add(m, j, hi, remind=True)
    for phrase in (
        ("i", "need", "to"),
        ("i", "have", "to"),
        ("i", "must"),
        ("i", "should"),
        ("i", "gotta"),
        ("i've", "got", "to"),
        ("need", "to"),
        ("have", "to"),
        ("gotta",),
        ("must",),
        ("note", "to", "self"),
    ):
        if m.at(lo, *phrase):
            j = lo + len(phrase)
            if j < hi and m.tokens[j].text in {":", ","}:
                j += 1
            if m.at(j, "remember", "to") or m.at(j, "not", "forget", "to"):
                j += 2 + (m.w(j) == "not")  # "I need to remember to call the dentist"
            return _add(m, j, hi)
    return None


def _act(m: Message, lo: int, hi: int, tool: str, action: str, prefer_done: bool | None) -> Plan:
    several = refs.resolve_several(m.tokens[lo:hi], m.context, prefer_done=prefer_done)
    if several is not None:
        return Plan(calls=tuple(ToolCall(tool, {"task_id": t.id}) for t in several))
    if is_set(m, lo, hi):
        if tool == "reopen_task":
            return _bulk_with_status(m, lo, hi, ToolCall(tool, {}), "done")
        return bulk(m, lo, hi, ToolCall(tool, {}))
    phrase = list(m.tokens[lo:hi])
    quoted = next((t.text for t in phrase if t.kind is Kind.QUOTED), None)
    found = refs.resolve(phrase, m.context, quoted=quoted, prefer_done=prefer_done)
    if isinstance(found, refs.Resolved):
        return Plan(calls=(ToolCall(tool, {"task_id": found.task.id}),))
    return question_for(found, action)


def _bulk_with_status(m: Message, lo: int, hi: int, each: ToolCall, status: str) -> Plan:
    plan = bulk(m, lo, hi, each)
    args = dict(plan.calls[0].arguments)
    args["status"] = status
    return Plan(calls=(ToolCall("list_tasks", args),), for_each=each)


def _strip_status_words(m: Message, lo: int, hi: int) -> int:
    """The end of a reference before "as done" / "is done" / "as complete"."""
    end = hi
    while end > lo and (m.w(end - 1) in _DONE_WORDS | {"as", "is", "now", "already", "off"}):
        end -= 1
    return end


def _detect_complete(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    start: int | None = None
    if w in {"done", "finished", "completed"} and m.w(lo + 1) in {"with", "the", "task", "my"}:
        start = lo + 1 + (m.w(lo + 1) == "with")
    elif w in {"done", "finished", "completed"}:
        start = lo + 1  # "Done!" alone: the task in focus, or a question
    elif w in {"i'm", "im"} and m.w(lo + 1) in {"done", "finished"}:
        start = lo + 2 + (m.w(lo + 2) == "with")
    elif m.at(lo, "i", "am") and m.w(lo + 2) in {"done", "finished"}:
        start = lo + 3 + (m.w(lo + 3) == "with")
    elif w in {"i", "i've", "ive", "we"}:
        j = lo + 1 + (m.w(lo + 1) in {"have", "just", "already"})
        j += m.w(j) in {"just", "already"}
        if m.w(j) in {"finished", "completed", "did", "done"}:
            start = j + 1
    elif w in {"check", "tick", "cross"} and "off" in {m.w(lo + 1), m.w(hi - 1)}:
        start = lo + 2 if m.w(lo + 1) == "off" else lo + 1
        return _act(m, start, hi - (m.w(hi - 1) == "off"), "complete_task", "complete", False)
    elif w == "mark" or w == "set":
        tail = {m.w(k) for k in range(lo + 1, hi)}
        if tail & {"done", "complete", "completed", "finished"} and not tail & {"not", "un"}:
            end = _strip_status_words(m, lo + 1, hi)
            return _act(m, lo + 1, end, "complete_task", "complete", False)
        return None
    elif w in {"complete", "finish", "close"}:
        start = lo + 1
        slots = scan(m.tokens, m.clock, start, hi)
        if slots.when is not None or slots.rule is not None:
            return None  # "complete the report by Friday" is a new task
        plan = _act(m, start, hi, "complete_task", "complete", False)
        if plan.reply is not None and w in {"finish", "complete"}:
            return None  # "Finish taxes": a new task, no such task to complete
        return plan
    elif m.w(hi - 1) in {"done", "finished", "completed"} and not any(
        m.w(k) in {"not", "when", "before", "after", "get", "getting"} for k in range(lo, hi)
    ):
        end = _strip_status_words(m, lo, hi)
        if end > lo:
            plan = _act(m, lo, end, "complete_task", "complete", False)
            return plan if plan.calls or plan.question else None
    if start is None:
        return None
    end = _strip_status_words(m, start, hi)
    return _act(m, start, end, "complete_task", "complete", False)


def _detect_reopen(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w in _REOPEN_VERBS or (w == "re" and m.w(lo + 2) == "open"):
        start = lo + 1 if w != "re" else lo + 3
        end = hi
        while end > start and m.w(end - 1) in {"again", "please"}:
            end -= 1
        return _act(m, start, end, "reopen_task", "reopen", True)
    if w in {"mark", "set"}:
        tail = [m.w(k) for k in range(lo + 1, hi)]
        joined = " ".join(tail)
        negative = any(n in tail for n in _NOT_DONE) or " not done" in f" {joined}"
        if negative or "not complete" in joined or "not finished" in joined:
            end = hi
            while end > lo + 1 and (
                m.w(end - 1) in _NOT_DONE | _DONE_WORDS | {"as", "not", "again", "un"}
                or m.tokens[end - 1].text == "-"
            ):
                end -= 1
            return _act(m, lo + 1, end, "reopen_task", "reopen", True)
    if m.w(hi - 1) in {"undone"} or (m.w(hi - 2) == "not" and m.w(hi - 1) in _DONE_WORDS):
        end = hi - 1 - (m.w(hi - 2) == "not")
        while end > lo and m.w(end - 1) in {"is", "as", "was", "actually", "still"}:
            end -= 1
        return _act(m, lo, end, "reopen_task", "reopen", True)
    return None


def _detect_delete(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w in _DELETE_VERBS:
        if m.w(lo + 1) in {"the", "a"} and m.w(lo + 2) in {"tag", "tags", "due", "reminder"}:
            return None
        if m.w(lo + 1) in {"tags", "tag", "due", "priority", "reminders", "recurrence"}:
            return None
        plan = _act(m, lo + 1, hi, "delete_task", "delete", None)
        if plan.reply is not None and not definite(m.tokens[lo + 1 : hi]):
            return None  # "Delete old emails": a new task, there is no such task to delete
        return plan
    if m.at(lo, "get", "rid", "of"):
        return _act(m, lo + 3, hi, "delete_task", "delete", None)
    if m.at(lo, "throw", "away") or m.at(lo, "throw", "out"):
        return _act(m, lo + 2, hi, "delete_task", "delete", None)
    return None


def _detect_reminder(m: Message, lo: int, hi: int) -> Plan | None:
    j: int | None = None
    if m.w(lo) in {"remind", "ping", "alert", "notify"} and (
        m.w(lo + 1) == "me" and m.w(lo + 2) in {"about", "of", "regarding"}
    ):
        j = lo + 3
    if m.w(lo) in {"set", "add", "create", "put", "schedule"}:
        k = lo + 1 + (m.w(lo + 1) in {"a", "an"})
        if m.w(k) in {"reminder", "alert", "notification"}:
            if m.w(k + 1) == "to" and not definite(m.tokens[k + 2 : hi]):
                return _add(m, k + 2, hi, remind=True)
            j = k + 1 + (m.w(k + 1) in {"for", "on", "about", "of"})
    if m.w(lo) == "reminder" and m.w(lo + 1) in {"for", "on", "about"}:
        j = lo + 2
    if m.w(lo) in {"remind", "ping", "alert", "notify"} and m.w(lo + 1) == "me" and j is None:
        about = next((k for k in range(lo + 2, hi) if m.w(k) in {"about", "regarding"}), None)
        if about is not None and definite(m.tokens[about + 1 : hi]):
            j = lo + 2  # "remind me at 5pm about the rent"
    if m.w(lo) in {"remind", "ping", "alert", "notify"} and m.w(lo + 1) == "me" and j is None:
        # "ping me 15 minutes before the team meeting"
        before = next((k for k in range(lo + 2, hi) if m.w(k) in {"before", "ahead"}), None)
        if before is not None and definite(m.tokens[before + 1 : hi]):
            j = lo + 2
    if j is None:
        return None
    slots = scan(m.tokens, m.clock, j, hi)
    phrase = unclaimed(m, slots, j, hi)
    quoted = slots.quoted
    found = refs.resolve(phrase, m.context, quoted=quoted)
    if not isinstance(found, refs.Resolved):
        return question_for(found, "remind you about")
    task_id = found.task.id
    if slots.minutes_before:
        return Plan(
            calls=(
                ToolCall(
                    "set_reminder", {"task_id": task_id, "minutes_before": slots.minutes_before[0]}
                ),
            )
        )
    when = slots.remind_at[0] if slots.remind_at else slots.when
    if when is None or when.time is None or when.day is None:
        return Plan(question=f'When should I remind you about "{found.task.title}"?')
    at = m.clock.iso(when.day, when.time)
    return Plan(calls=(ToolCall("set_reminder", {"task_id": task_id, "at": at}),))


def _detect_rename(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    if w == "rename":
        start = lo + 1
    elif (
        w in {"change", "update", "edit", "set"}
        and m.w(lo + 1) == "the"
        and (m.w(lo + 2) in {"title", "name"} and m.w(lo + 3) in {"of", "for", "on"})
    ):
        start = lo + 4
    else:
        return None
    split = next(
        (k for k in range(start, hi) if m.w(k) in {"to", "as", "into"} and k > start), None
    )
    if split is None:
        return Plan(question="What should the new title be?")
    new = [t for t in m.tokens[split + 1 : hi]]
    quoted = next((t.text for t in new if t.kind is Kind.QUOTED), None)
    title = quoted or (m.text[new[0].start : new[-1].end].strip() if new else "")
    if not title:
        return Plan(question="What should the new title be?")
    phrase = list(m.tokens[start:split])
    ref_quoted = next((t.text for t in phrase if t.kind is Kind.QUOTED), None)
    found = refs.resolve(phrase, m.context, quoted=ref_quoted)
    if not isinstance(found, refs.Resolved):
        return question_for(found, "rename")
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, "title": title}),))


def _set_description(m: Message, lo: int, hi: int) -> Plan | None:
    """ "set the description of the report to Q4 numbers"."""
    if not (
        m.w(lo) in {"set", "change", "update"}
        and m.w(lo + 1) == "the"
        and m.w(lo + 2) in {"description", "note", "notes", "details"}
        and m.w(lo + 3) in {"of", "for", "on"}
    ):
        return None
    to = next((k for k in range(lo + 4, hi) if m.w(k) == "to"), None)
    if to is None or to + 1 >= hi:
        return Plan(question="What should the description say?")
    found = refs.resolve(list(m.tokens[lo + 4 : to]), m.context)
    if not isinstance(found, refs.Resolved):
        return question_for(found, "describe")
    text = m.text[m.tokens[to + 1].start : m.tokens[hi - 1].end].strip()
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, "description": text}),))


def _detect_description(m: Message, lo: int, hi: int) -> Plan | None:
    """ "add a note to the passport task: bring the old one", or `_set_description`'s."""
    described = _set_description(m, lo, hi)
    if described is not None:
        return described
    if not (
        m.w(lo) == "add"
        and m.w(lo + 1) in {"a", "the"}
        and m.w(lo + 2) in {"note", "description"}
        and m.w(lo + 3) in {"to", "on", "for"}
    ):
        return None
    colon = next((k for k in range(lo + 4, hi) if m.tokens[k].text == ":"), None)
    if colon is None:
        return Plan(question="What should the note say?")
    phrase = list(m.tokens[lo + 4 : colon])
    found = refs.resolve(phrase, m.context)
    if not isinstance(found, refs.Resolved):
        return question_for(found, "add the note to")
    text = m.text[m.tokens[colon].end : m.tokens[hi - 1].end].strip()
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, "description": text}),))


_CLEARS: Final[tuple[tuple[tuple[str, ...], dict[str, Any]], ...]] = (
    (("no", "due", "date"), {"due_date": None, "due_time": None}),
    (("due", "date"), {"due_date": None, "due_time": None}),
    (("deadline",), {"due_date": None, "due_time": None}),
    (("due",), {"due_date": None, "due_time": None}),
    (("priority",), {"priority": "none"}),
    (("tags",), {"tags": []}),
    (("tag",), {"tags": []}),
    (("reminders",), {"reminders": []}),
    (("reminder",), {"reminders": []}),
    (("recurrence",), {"recurrence": None}),
    (("repeat",), {"recurrence": None}),
)


def _detect_update(m: Message, lo: int, hi: int) -> Plan | None:
    w = m.w(lo)
    move = w in _MOVE_VERBS
    clear = w in {"remove", "clear", "delete", "drop", "unset"}
    stop_repeat = (w in {"stop", "don't", "dont"} and m.w(lo + 1) in {"repeating", "repeat"}) or (
        m.at(lo, "no", "longer", "repeat")
    )
    if w == "stop" and m.w(hi - 1) == "repeating" and m.w(hi - 2) == "from":
        return _update_one(m, lo + 1, hi - 2, {"recurrence": None})  # "stop X from repeating"
    if w in {"untag"}:
        return _update_one(m, lo + 1, hi, {"tags": []})
    if stop_repeat:
        start = lo + 2 + (m.w(lo) == "no")
        return _update_one(m, start, hi, {"recurrence": None})
    if clear:
        for phrase, change in _CLEARS:
            k = lo + 1 + (m.w(lo + 1) in {"the", "all"})
            if m.at(k, *phrase):
                end = k + len(phrase)
                end += m.w(end) in {"from", "of", "on", "for"}
                return _update_one(m, end, hi, dict(change))
        return None
    if w in {"prioritize", "prioritise"}:
        return _update_one(m, lo + 1, hi, {"priority": "high"})
    if w in {"deprioritize", "deprioritise"}:
        return _update_one(m, lo + 1, hi, {"priority": "low"})
    if w in {"tag", "label"}:
        return _update_changes(m, lo, hi, tag_verb=True)
    if w == "add" and (m.w(lo + 1) in {"tag", "tags", "label"} or m.at(lo + 1, "the", "tag")):
        return _update_changes(m, lo, hi, tag_verb=True)
    if move or w in _CHANGE_VERBS:
        return _update_changes(m, lo, hi, tag_verb=False)
    return None


def _update_one(m: Message, lo: int, hi: int, change: dict[str, Any]) -> Plan:
    if is_set(m, lo, hi):
        return bulk(m, lo, hi, ToolCall("update_task", change))
    phrase = list(m.tokens[lo:hi])
    quoted = next((t.text for t in phrase if t.kind is Kind.QUOTED), None)
    found = refs.resolve(phrase, m.context, quoted=quoted)
    if not isinstance(found, refs.Resolved):
        return question_for(found, "change")
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, **change}),))


_REF_NOISE: Final = {
    "back",
    "forward",
    "due",
    "date",
    "priority",
    "time",
    "deadline",
    "repeat",
    "repeats",
    "repeating",
    "recur",
    "recurring",
}


def _target_split(m: Message, lo: int, hi: int) -> int | None:
    """Where the new due starts in "move X to Friday" (the index of "to"), if anywhere."""
    for k in range(lo, hi):
        if m.w(k) in {"to", "till", "until", "for"} and parse_when(m.tokens, k + 1, m.clock):
            return k
    return None


def _update_changes(m: Message, lo: int, hi: int, *, tag_verb: bool) -> Plan | None:
    w = m.w(lo)
    start = lo + 1
    split = _target_split(m, start, hi) if w in _MOVE_VERBS else None
    described_until = hi if split is None else split
    for_a_set = is_set(m, start, described_until)
    slots = scan(m.tokens, m.clock, start if split is None else split + 1, hi, tagged=not for_a_set)
    claimed = slots.claimed
    if split is not None:
        claimed[split] = True
    # "set the priority of X to high", "make X low": a bare level after "to"/"as"/at the end.
    for k in range(start, hi):
        if claimed[k] or m.w(k) not in LEVELS or m.w(k) in {"no"}:
            continue
        prev = m.w(k - 1)
        if prev in {"to", "as"} or (k == hi - 1 and w in {"make", "set", "mark"}):
            slots.priority = LEVELS[m.w(k)]
            claimed[k] = True
            if prev in {"to", "as"}:
                claimed[k - 1] = True
    if tag_verb:
        _tag_change(m, w, start, hi, slots)
    change: dict[str, Any] = due_arguments(slots, m.clock, update=True)
    if slots.priority is not None:
        change["priority"] = slots.priority
    if slots.tags:
        change["tags"] = list(slots.tags)
    reminders = reminder_arguments(slots, m.clock, change, remind=False)
    if reminders:
        change["reminders"] = reminders
    rest = [m.tokens[k] for k in range(start, described_until) if not claimed[k]]
    ref_tokens = [t for t in rest if t.norm not in _REF_NOISE]
    if ref_tokens and ref_tokens[0].norm in {"a", "an"}:
        return None  # "make a dentist appointment for Tuesday": something new
    if not change:
        if not refs.keywords(ref_tokens) and not definite(ref_tokens):
            if w in _MOVE_VERBS | {"change", "update", "edit"}:
                return Plan(question="Which task should I change, and how?")
            return None
        if _names_task(m, ref_tokens):
            return Plan(question="What should I change about it?")
        return None
    if w in _MOVE_VERBS and not {"due_date", "due_time", "priority"} & change.keys():
        return None
    if for_a_set and not _single_named(m, ref_tokens):
        listing_hi = split if split is not None else _first_claimed_after(slots, start, hi)
        return bulk(m, start, listing_hi, ToolCall("update_task", change))
    several = refs.resolve_several(ref_tokens, m.context, prefer_done=False)
    if several is not None and slots.quoted is None:
        return Plan(
            calls=tuple(ToolCall("update_task", {"task_id": t.id, **change}) for t in several)
        )
    found = refs.resolve(ref_tokens, m.context, quoted=slots.quoted, prefer_done=False)
    if isinstance(found, refs.Resolved) and not found.full and w in {"change", "make", "set"}:
        return None  # "change the water filter monthly": a new task, not "Water the plants"
    if isinstance(found, refs.Resolved):
        return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, **change}),))
    if isinstance(found, refs.NotFound) and not definite(ref_tokens):
        return None  # "Push code to prod friday": a new task
    return question_for(found, "change")


def _tag_change(m: Message, w: str, start: int, hi: int, slots: Slots) -> None:
    """ "tag X with work", "tag X as home", "add tag work to X": the tags given."""
    claimed = slots.claimed
    if w == "add":
        k_to = next((k for k in range(start, hi) if m.w(k) in {"to", "on"}), None)
        if k_to is not None:
            values = [
                t.norm
                for t in m.tokens[start:k_to]
                if t.kind in {Kind.WORD, Kind.TAG}
                and t.norm not in {"tag", "tags", "label", "the", "a", "and"}
            ]
            for k in range(start, k_to + 1):
                claimed[k] = True
            slots.tags = values + [t for t in slots.tags if t not in values]
        return
    k_with = next((k for k in range(start, hi) if m.w(k) in {"with", "as"}), None)
    if k_with is not None:
        slots.tags = [
            t.norm
            for t in m.tokens[k_with + 1 : hi]
            if t.kind in {Kind.WORD, Kind.TAG} and t.norm not in {"and", "the", "a"}
        ]
        for k in range(k_with, hi):
            claimed[k] = True


def _single_named(m: Message, ref_tokens: Sequence[Token]) -> bool:
    words = [t for t in ref_tokens if t.norm not in SET_MARKERS | {"my", "all"}]
    if not refs.keywords(words):
        return False
    found = refs.resolve(words, m.context)
    if not isinstance(found, refs.Resolved):
        return False
    title = {refs.stem(w) for w in found.task.title.split()}
    return all(k in title for k in refs.keywords(words))


def _first_claimed_after(slots: Slots, lo: int, hi: int) -> int:
    """Where the set's description ends: before "to 2 PM" (the change itself)."""
    seen_unclaimed = False
    for k in range(lo, hi):
        if not slots.claimed[k]:
            seen_unclaimed = True
        elif seen_unclaimed:
            return k
    return hi


def _names_task(m: Message, rest: Sequence[Token]) -> bool:
    found = refs.resolve(list(rest), m.context)
    return isinstance(found, refs.Resolved)


_STATEMENT_VERBS: Final = (("is", "due"), ("are", "due"), ("should", "be"), ("is", "now"), ("is",))


def _detect_statement(m: Message, lo: int, hi: int) -> Plan | None:
    """ "the rent is due on the 3rd", "the milk one should be urgent": a task that exists,
    and what it is now (every word after the verb must be a due, a priority or a rule)."""
    k, verb = next(
        ((k, verb) for k in range(lo + 1, hi - 1) for verb in _STATEMENT_VERBS if m.at(k, *verb)),
        (None, ()),
    )
    if k is None:
        return None
    start = k + len(verb)
    slots = scan(m.tokens, m.clock, start, hi)
    if start == hi - 1 and m.w(start) in LEVELS:
        slots.priority, slots.claimed[start] = LEVELS[m.w(start)], True
    change = due_arguments(slots, m.clock, update=True)
    if slots.priority is not None:
        change["priority"] = slots.priority
    if not change or any(not slots.claimed[j] for j in range(start, hi)):
        return None
    found = refs.resolve(list(m.tokens[lo:k]), m.context, prefer_done=False)
    if not isinstance(found, refs.Resolved) or not definite(m.tokens[lo:k]):
        return None
    return Plan(calls=(ToolCall("update_task", {"task_id": found.task.id, **change}),))


_DETECTORS: Final[tuple[Callable[[Message, int, int], Plan | None], ...]] = (
    _detect_reminder,
    _detect_description,
    _detect_rename,
    _detect_add,
    _detect_reopen,
    _detect_complete,
    _detect_delete,
    _detect_update,
    _detect_statement,
    detect_search,
    detect_list,
)
