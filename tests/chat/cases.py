"""Utterances and the plans they must produce: the offline planner's evaluation set.

Each case is a message, the conversation it is said in (a fixed clock in a time zone,
the last listing, the user's tasks, whether a confirmation is pending) and the plan a
person means by it. Questions and replies are checked by kind, not by wording.
The set is shared by the tests (`test_utterances.py`) and `bench/chat.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from taskstream.chat.plan import KnownTask, Plan, PlanContext, ToolCall


def _ctx(
    when: str,
    zone: str,
    *,
    listed: tuple[KnownTask, ...] = (),
    awaiting: bool = False,
) -> PlanContext:
    now = datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))
    return PlanContext(
        now=now, timezone=zone, listed=listed, tasks=TASKS, awaiting_confirmation=awaiting
    )


TASKS = (
    KnownTask("milk", "Buy milk"),
    KnownTask("team", "Team meeting"),
    KnownTask("dentist", "Dentist appointment"),
    KnownTask("mom", "Call mom", done=True),
    KnownTask("bob", "Meeting with Bob"),
    KnownTask("rent", "Pay rent"),
    KnownTask("report", "Write quarterly report"),
    KnownTask("oat", "Buy oat milk"),
    KnownTask("plants", "Water the plants"),
    KnownTask("passport", "Renew passport"),
    KnownTask("dishes", "Do the dishes"),
    KnownTask("taxes", "File taxes", done=True),
    KnownTask("talk", "Talk to Anna"),
)
_BY_ID = {t.id: t for t in TASKS}
LISTING = (_BY_ID["milk"], _BY_ID["team"], _BY_ID["dentist"])
DONE_LISTING = (_BY_ID["mom"], _BY_ID["taxes"])

# Monday 30 November 2026, 10:00 in New York (EST, -05:00).
NY = _ctx("2026-11-30T10:00", "America/New_York")
NY_LISTED = _ctx("2026-11-30T10:00", "America/New_York", listed=LISTING)
NY_DONE_LISTED = _ctx("2026-11-30T10:00", "America/New_York", listed=DONE_LISTING)
NY_CONFIRM = _ctx("2026-11-30T10:00", "America/New_York", listed=LISTING, awaiting=True)
NY_EVENING = _ctx("2026-11-30T19:30", "America/New_York")
# Saturday 28 March 2026, 22:30 in Berlin: clocks go 02:00 → 03:00 on Sunday 29 March.
BERLIN = _ctx("2026-03-28T22:30", "Europe/Berlin")
# Saturday 31 October 2026, 23:30 in New York: clocks go 02:00 EDT → 01:00 EST on 1 Nov.
NY_FALL = _ctx("2026-10-31T23:30", "America/New_York")
# Thursday 31 December 2026, 23:00 in Tokyo: the year turns in an hour.
TOKYO = _ctx("2026-12-31T23:00", "Asia/Tokyo")
# Friday 12 June 2026, 08:15 in Kolkata (+05:30).
KOLKATA = _ctx("2026-06-12T08:15", "Asia/Kolkata")
# Saturday 3 October 2026, 23:00 in Sydney: clocks go 02:00 → 03:00 on Sunday 4 October.
SYDNEY = _ctx("2026-10-03T23:00", "Australia/Sydney")
# Wednesday 15 July 2026, 16:45 in Los Angeles (PDT, -07:00).
LA = _ctx("2026-07-15T16:45", "America/Los_Angeles")
# Saturday 28 February 2026, 12:00 UTC: the last day of a short month.
UTC = _ctx("2026-02-28T12:00", "UTC")


@dataclass(frozen=True, slots=True)
class Case:
    say: str
    context: PlanContext
    calls: tuple[ToolCall, ...] = ()
    for_each: ToolCall | None = None
    question: bool = False
    reply: bool = False
    confirmed: bool | None = None
    xfail: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def matches(self, plan: Plan) -> bool:
        return (
            plan.calls == self.calls
            and plan.for_each == self.for_each
            and (plan.question is not None) == self.question
            and (plan.reply is not None) == self.reply
            and plan.confirmed == self.confirmed
        )

    def expected(self) -> dict[str, Any]:
        return {
            "calls": [(c.name, c.arguments) for c in self.calls],
            "for_each": None if self.for_each is None else self.for_each.name,
            "question": self.question,
            "reply": self.reply,
            "confirmed": self.confirmed,
        }


def add(title: str, **arguments: Any) -> tuple[ToolCall, ...]:
    return (ToolCall("add_task", {"title": title, **arguments}),)


def rec(rule: str, anchor: str = "due") -> dict[str, str]:
    return {"rule": rule, "anchor": anchor}


def before(*minutes: int) -> list[dict[str, int]]:
    return [{"minutes_before": n} for n in minutes]


def listing(**arguments: Any) -> tuple[ToolCall, ...]:
    return (ToolCall("list_tasks", arguments),)


def search(query: str) -> tuple[ToolCall, ...]:
    return (ToolCall("search_tasks", {"query": query}),)


def update(task_id: str, **arguments: Any) -> tuple[ToolCall, ...]:
    return (ToolCall("update_task", {"task_id": task_id, **arguments}),)


def complete(task_id: str) -> tuple[ToolCall, ...]:
    return (ToolCall("complete_task", {"task_id": task_id}),)


def reopen(task_id: str) -> tuple[ToolCall, ...]:
    return (ToolCall("reopen_task", {"task_id": task_id}),)


def delete(task_id: str) -> tuple[ToolCall, ...]:
    return (ToolCall("delete_task", {"task_id": task_id}),)


def remind(task_id: str, **arguments: Any) -> tuple[ToolCall, ...]:
    return (ToolCall("set_reminder", {"task_id": task_id, **arguments}),)


def each(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(name, arguments)


NY_TODAY = {"due_after": "2026-11-30T00:00:00-05:00", "due_before": "2026-12-01T00:00:00-05:00"}
NY_TOMORROW = {
    "due_after": "2026-12-01T00:00:00-05:00",
    "due_before": "2026-12-02T00:00:00-05:00",
}
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

CASES: tuple[Case, ...] = (
    # --- add: the issue's own examples ---------------------------------------------------
    Case(
        "remind me to call mom tomorrow at 6pm",
        NY,
        add("call mom", due_date="2026-12-01", due_time="18:00", reminders=before(0)),
    ),
    Case(
        "every other Tuesday at 9 standup, high priority, tag work",
        NY,
        add(
            "standup",
            due_date="2026-12-01",
            due_time="09:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=TU;INTERVAL=2"),
            priority="high",
            tags=["work"],
        ),
    ),
    Case("Create monthly report", NY, add("Create monthly report")),
    Case("Move old monitor", NY, add("Move old monitor")),
    Case(
        "call mom tomorrow 6pm #family p2",
        NY,
        add("call mom", due_date="2026-12-01", due_time="18:00", priority="high", tags=["family"]),
    ),
    # --- add: dates and times ------------------------------------------------------------
    Case("buy milk tomorrow", NY, add("buy milk", due_date="2026-12-01")),
    Case("Buy milk tomorrow evening", NY, add("Buy milk", due_date="2026-12-01", due_time="18:00")),
    Case("dentist tmrw 5pm", NY, add("dentist", due_date="2026-12-01", due_time="17:00")),
    Case(
        "submit report next Friday 3pm",
        NY,
        add("submit report", due_date="2026-12-11", due_time="15:00"),
    ),
    Case("submit report friday", NY, add("submit report", due_date="2026-12-04")),
    Case(
        "submit report this friday at 3pm",
        NY,
        add("submit report", due_date="2026-12-04", due_time="15:00"),
    ),
    Case(
        "call the bank in 2 hours",
        NY,
        add("call the bank", due_date="2026-11-30", due_time="12:00"),
    ),
    Case("stretch in 30 minutes", NY, add("stretch", due_date="2026-11-30", due_time="10:30")),
    Case(
        "check the oven in half an hour",
        NY,
        add("check the oven", due_date="2026-11-30", due_time="10:30"),
    ),
    Case("pay rent on the 5th", NY, add("pay rent", due_date="2026-12-05")),
    Case("invoice clients end of month", NY, add("invoice clients", due_date="2026-11-30")),
    Case(
        "send the newsletter by end of the week",
        NY,
        add("send the newsletter", due_date="2026-12-04"),
    ),
    Case("book flights next week", NY, add("book flights", due_date="2026-12-07")),
    Case("renew gym membership next month", NY, add("renew gym membership", due_date="2026-12-01")),
    Case("water plants in 3 days", NY, add("water plants", due_date="2026-12-03")),
    Case("plan the retreat in 2 weeks", NY, add("plan the retreat", due_date="2026-12-14")),
    Case(
        "pick up the kids at 3",
        NY,
        add("pick up the kids", due_date="2026-11-30", due_time="15:00"),
    ),
    Case(
        "breakfast with Sam at 9",
        NY,
        add("breakfast with Sam", due_date="2026-12-01", due_time="09:00"),
    ),
    Case(
        "lunch with Kim at noon", NY, add("lunch with Kim", due_date="2026-11-30", due_time="12:00")
    ),
    Case("call dad tonight", NY, add("call dad", due_date="2026-11-30", due_time="20:00")),
    Case(
        "read chapter 4 this evening",
        NY,
        add("read chapter 4", due_date="2026-11-30", due_time="18:00"),
    ),
    Case("gym tomorrow morning", NY, add("gym", due_date="2026-12-01", due_time="09:00")),
    Case(
        "team sync on Dec 15 at 10:30am",
        NY,
        add("team sync", due_date="2026-12-15", due_time="10:30"),
    ),
    Case(
        "mum's birthday party January 3rd", NY, add("mum's birthday party", due_date="2027-01-03")
    ),
    Case(
        "dinner at 7:30pm on Thursday", NY, add("dinner", due_date="2026-12-03", due_time="19:30")
    ),
    Case("file expenses 2026-12-18", NY, add("file expenses", due_date="2026-12-18")),
    Case("Buy milk", NY, add("Buy milk")),
    Case("add buy eggs", NY, add("buy eggs")),
    Case(
        "add a task to clean the garage on saturday",
        NY,
        add("clean the garage", due_date="2026-12-05"),
    ),
    Case(
        "create a task called prepare slides for Monday",
        NY,
        add("prepare slides", due_date="2026-12-07"),
    ),
    Case(
        "new task: renew car insurance before the 15th",
        NY,
        add("renew car insurance", due_date="2026-12-15"),
    ),
    Case(
        "I need to email the landlord tomorrow",
        NY,
        add("email the landlord", due_date="2026-12-01"),
    ),
    Case(
        "don't forget to feed the cat at 6pm",
        NY,
        add("feed the cat", due_date="2026-11-30", due_time="18:00", reminders=before(0)),
    ),
    # --- add: titles with date-like words, quoted titles, whole words --------------------
    Case("Move old monitor to the basement", NY, add("Move old monitor to the basement")),
    Case("fix the monitor stand", NY, add("fix the monitor stand")),
    Case("Review weekly metrics", NY, add("Review weekly metrics")),
    Case("Prepare daily standup notes", NY, add("Prepare daily standup notes")),
    Case('add "Meet Friday Club" tomorrow', NY, add("Meet Friday Club", due_date="2026-12-01")),
    Case(
        "add 'Every Day Counts book review' p3",
        NY,
        add("Every Day Counts book review", priority="medium"),
    ),
    Case(
        'add "Sunday roast shopping" on saturday',
        NY,
        add("Sunday roast shopping", due_date="2026-12-05"),
    ),
    Case("buy sunscreen for the trip", NY, add("buy sunscreen for the trip")),
    Case("order a new monday.com seat", NY, add("order a new monday.com seat")),
    Case("Read Marching Orders", NY, add("Read Marching Orders")),
    # --- add: recurrence -----------------------------------------------------------------
    Case(
        "water the plants every day",
        NY,
        add("water the plants", due_date="2026-11-30", recurrence=rec("FREQ=DAILY")),
    ),
    Case(
        "standup every weekday at 9:30",
        NY,
        add("standup", due_date="2026-12-01", due_time="09:30", recurrence=rec(WEEKDAYS)),
    ),
    Case(
        "take vitamins daily at 8am",
        NY,
        add("take vitamins", due_date="2026-12-01", due_time="08:00", recurrence=rec("FREQ=DAILY")),
    ),
    Case(
        "pay rent every last day of the month",
        NY,
        add("pay rent", due_date="2026-11-30", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=-1")),
    ),
    Case(
        "water the ferns every 3 days after I finish it",
        NY,
        add(
            "water the ferns",
            due_date="2026-11-30",
            recurrence=rec("FREQ=DAILY;INTERVAL=3", "completion"),
        ),
    ),
    Case(
        "pay rent monthly",
        NY,
        add("pay rent", due_date="2026-11-30", recurrence=rec("FREQ=MONTHLY")),
    ),
    Case(
        "gym on mondays and thursdays at 7pm",
        NY,
        add(
            "gym",
            due_date="2026-11-30",
            due_time="19:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=MO,TH"),
        ),
    ),
    Case(
        "team lunch every friday at noon",
        NY,
        add(
            "team lunch",
            due_date="2026-12-04",
            due_time="12:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=FR"),
        ),
    ),
    Case(
        "clean the bathroom every week",
        NY,
        add("clean the bathroom", due_date="2026-11-30", recurrence=rec("FREQ=WEEKLY")),
    ),
    Case(
        "backup laptop every 2 weeks",
        NY,
        add("backup laptop", due_date="2026-11-30", recurrence=rec("FREQ=WEEKLY;INTERVAL=2")),
    ),
    Case(
        "pay credit card on the 15th of every month",
        NY,
        add("pay credit card", due_date="2026-12-15", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=15")),
    ),
    Case(
        "book club every first thursday of the month at 7pm",
        NY,
        add(
            "book club",
            due_date="2026-12-03",
            due_time="19:00",
            recurrence=rec("FREQ=MONTHLY;BYDAY=1TH"),
        ),
    ),
    Case(
        "anniversary every year on March 14",
        NY,
        add(
            "anniversary",
            due_date="2027-03-14",
            recurrence=rec("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=14"),
        ),
    ),
    Case(
        "call grandma every sunday",
        NY,
        add("call grandma", due_date="2026-12-06", recurrence=rec("FREQ=WEEKLY;BYDAY=SU")),
    ),
    Case(
        "mow the lawn every saturday morning",
        NY,
        add(
            "mow the lawn",
            due_date="2026-12-05",
            due_time="09:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=SA"),
        ),
    ),
    Case(
        "change the water filter every 2 months after completion",
        NY,
        add(
            "change the water filter",
            due_date="2026-11-30",
            recurrence=rec("FREQ=MONTHLY;INTERVAL=2", "completion"),
        ),
    ),
    # --- add: priorities and tags --------------------------------------------------------
    Case("urgent: call the bank", NY, add("call the bank", priority="urgent")),
    Case("call the plumber asap", NY, add("call the plumber", priority="urgent")),
    Case("renew license p1", NY, add("renew license", priority="urgent")),
    Case("tidy desk p4", NY, add("tidy desk", priority="low")),
    Case("prepare budget, high priority", NY, add("prepare budget", priority="high")),
    Case("sort photos low priority", NY, add("sort photos", priority="low")),
    Case("reply to urgent email from Ana", NY, add("reply to urgent email from Ana")),
    Case("buy flowers #home #weekend", NY, add("buy flowers", tags=["home", "weekend"])),
    Case("fix the sink tag it home", NY, add("fix the sink", tags=["home"])),
    Case("draft proposal tagged work", NY, add("draft proposal", tags=["work"])),
    # --- add: reminders ------------------------------------------------------------------
    Case(
        "dentist tomorrow at 3pm remind me 30 minutes before",
        NY,
        add("dentist", due_date="2026-12-01", due_time="15:00", reminders=before(30)),
    ),
    Case(
        "flight to Oslo friday 7am, remind me 2 hours before",
        NY,
        add("flight to Oslo", due_date="2026-12-04", due_time="07:00", reminders=before(120)),
    ),
    Case(
        "remind me to take out the trash tomorrow",
        NY,
        add(
            "take out the trash",
            due_date="2026-12-01",
            reminders=[{"at": "2026-12-01T09:00:00-05:00"}],
        ),
    ),
    # --- list ------------------------------------------------------------------------------
    Case("what's overdue?", NY, listing(overdue=True)),
    Case("show my tasks", NY, listing(status="open")),
    Case("list all tasks", NY, listing(status="open")),
    Case("what's due today?", NY, listing(status="open", **NY_TODAY)),
    Case("what do I have tomorrow", NY, listing(status="open", **NY_TOMORROW)),
    Case("show completed tasks", NY, listing(status="done")),
    Case("show high priority tasks", NY, listing(status="open", priority=["high"])),
    Case("list tasks tagged work", NY, listing(status="open", tags=["work"])),
    Case("show my #home tasks", NY, listing(status="open", tags=["home"])),
    Case(
        "show urgent tasks sorted by due date",
        NY,
        listing(status="open", priority=["urgent"], sort="due", order="asc"),
    ),
    # --- search ----------------------------------------------------------------------------
    Case("search for dentist", NY, search("dentist")),
    Case("find tasks about taxes", NY, search("taxes")),
    Case("look for the passport task", NY, search("passport")),
    # --- complete --------------------------------------------------------------------------
    Case("done with the milk one", NY_LISTED, complete("milk")),
    Case("done with the milk one", NY, question=True),
    Case("mark 2 as done", NY_LISTED, complete("team")),
    Case("the second one is done", NY_LISTED, complete("team")),
    Case("complete task 3", NY_LISTED, complete("dentist")),
    Case("I finished the quarterly report", NY, complete("report")),
    Case("check off the dishes", NY, complete("dishes")),
    Case("done with the rent", NY, complete("rent")),
    # --- reopen ----------------------------------------------------------------------------
    Case("reopen call mom", NY, reopen("mom")),
    Case("mark the taxes one as not done", NY, reopen("taxes")),
    Case("reopen the first one", NY_DONE_LISTED, reopen("mom")),
    # --- delete ----------------------------------------------------------------------------
    Case("delete the meeting task", NY_LISTED, delete("team")),
    Case("delete the meeting task", NY, question=True),
    Case("delete 3", NY_LISTED, delete("dentist")),
    Case("remove the passport one", NY, delete("passport")),
    Case("get rid of the last one", NY_LISTED, delete("dentist")),
    Case("delete task 7", NY_LISTED, reply=True),
    # --- update ----------------------------------------------------------------------------
    Case(
        "move the dentist appointment to friday at 3pm",
        NY,
        update("dentist", due_date="2026-12-04", due_time="15:00"),
    ),
    Case("reschedule 2 to tomorrow", NY_LISTED, update("team", due_date="2026-12-01")),
    Case("move the team meeting to 2pm", NY, update("team", due_time="14:00")),
    Case("make the rent one urgent", NY, update("rent", priority="urgent")),
    Case("set the priority of the passport task to high", NY, update("passport", priority="high")),
    Case(
        "rename the first one to Buy whole milk", NY_LISTED, update("milk", title="Buy whole milk")
    ),
    Case("tag the plants task with home", NY, update("plants", tags=["home"])),
    Case("remove the due date from the dishes", NY, update("dishes", due_date=None, due_time=None)),
    # --- bulk ------------------------------------------------------------------------------
    Case(
        "move my morning meetings to 2 PM",
        NY,
        listing(
            status="open",
            text="meeting",
            due_after="2026-11-30T00:00:00-05:00",
            due_before="2026-11-30T12:00:00-05:00",
        ),
        for_each=each("update_task", due_time="14:00"),
    ),
    Case("complete all overdue tasks", NY, listing(overdue=True), for_each=each("complete_task")),
    Case("delete all completed tasks", NY, listing(status="done"), for_each=each("delete_task")),
    # --- reminders on existing tasks -------------------------------------------------------
    Case("remind me about the dentist 30 minutes before", NY, remind("dentist", minutes_before=30)),
    Case(
        "set a reminder for the passport task tomorrow at 8am",
        NY,
        remind("passport", at="2026-12-01T08:00:00-05:00"),
    ),
    # --- confirmations and conversation ----------------------------------------------------
    Case("yes", NY_CONFIRM, confirmed=True),
    Case("no", NY_CONFIRM, confirmed=False),
    Case("yes please", NY_CONFIRM, confirmed=True),
    Case("nope, keep it", NY_CONFIRM, confirmed=False),
    Case("hello", NY, reply=True),
    Case("thanks!", NY, reply=True),
    Case("add", NY, question=True),
    # --- time zones and DST edges ----------------------------------------------------------
    Case("call home in 2 hours", BERLIN, add("call home", due_date="2026-03-29", due_time="00:30")),
    Case(
        "check the heating in 4 hours",
        BERLIN,
        add("check the heating", due_date="2026-03-29", due_time="03:30"),
    ),
    Case("brunch tomorrow at 11", BERLIN, add("brunch", due_date="2026-03-29", due_time="11:00")),
    Case(
        "what's due tomorrow?",
        BERLIN,
        listing(
            status="open",
            due_after="2026-03-29T00:00:00+01:00",
            due_before="2026-03-30T00:00:00+02:00",
        ),
    ),
    Case(
        "feed the fish in 2 hours",
        NY_FALL,
        add("feed the fish", due_date="2026-11-01", due_time="01:30"),
    ),
    Case("new year call tomorrow", TOKYO, add("new year call", due_date="2027-01-01")),
    Case("renew visa end of month", TOKYO, add("renew visa", due_date="2026-12-31")),
    Case("yoga in 1 hour", KOLKATA, add("yoga", due_date="2026-06-12", due_time="09:15")),
    Case(
        "what's due today",
        KOLKATA,
        listing(
            status="open",
            due_after="2026-06-12T00:00:00+05:30",
            due_before="2026-06-13T00:00:00+05:30",
        ),
    ),
    Case("surf in 4 hours", SYDNEY, add("surf", due_date="2026-10-04", due_time="04:00")),
    Case("barbecue at 5", LA, add("barbecue", due_date="2026-07-15", due_time="17:00")),
    Case("report due at 4pm", LA, add("report", due_date="2026-07-16", due_time="16:00")),
    Case("rent due on the 1st", UTC, add("rent", due_date="2026-03-01")),
    Case("close the books end of month", UTC, add("close the books", due_date="2026-02-28")),
)
