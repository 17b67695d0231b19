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
NY_ONE = _ctx("2026-11-30T10:00", "America/New_York", listed=(_BY_ID["report"],))
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
    # === more phrasings, typos and casing ==================================================
    Case(
        "REMIND ME TO CALL MOM TOMORROW AT 6PM",
        NY,
        add("CALL MOM", due_date="2026-12-01", due_time="18:00", reminders=before(0)),
    ),
    Case(
        "remidn me to pay the water bill tmrw",
        NY,
        add(
            "pay the water bill",
            due_date="2026-12-01",
            reminders=[{"at": "2026-12-01T09:00:00-05:00"}],
        ),
    ),
    Case(
        "buy groceries tommorow at 5",
        NY,
        add("buy groceries", due_date="2026-12-01", due_time="17:00"),
    ),
    Case(
        "dentist on wendesday at 2pm", NY, add("dentist", due_date="2026-12-02", due_time="14:00")
    ),
    Case("Call Anna on Thurs", NY, add("Call Anna", due_date="2026-12-03")),
    Case("pick up dry cleaning sat", NY, add("pick up dry cleaning", due_date="2026-12-05")),
    Case("meet Jo next tues 4pm", NY, add("meet Jo", due_date="2026-12-08", due_time="16:00")),
    Case("Submit timesheet EOD", NY, add("Submit timesheet", due_date="2026-11-30")),
    Case("call the vet at 4:15", NY, add("call the vet", due_date="2026-11-30", due_time="16:15")),
    Case(
        "write blog post by 11am",
        NY,
        add("write blog post", due_date="2026-11-30", due_time="11:00"),
    ),
    Case("send invoice 12/15", NY, add("send invoice", due_date="2026-12-15")),
    Case("team offsite on the 3rd of January", NY, add("team offsite", due_date="2027-01-03")),
    Case("ship the release on 14 Dec", NY, add("ship the release", due_date="2026-12-14")),
    Case(
        "practice piano at 7 in the evening",
        NY,
        add("practice piano", due_date="2026-11-30", due_time="19:00"),
    ),
    Case(
        "jog tomorrow at 6 in the morning", NY, add("jog", due_date="2026-12-01", due_time="06:00")
    ),
    Case("take meds at midnight", NY, add("take meds", due_date="2026-12-01", due_time="00:00")),
    Case("finish the slides by Friday", NY, add("finish the slides", due_date="2026-12-04")),
    Case(
        "complete the tax return by the 15th",
        NY,
        add("complete the tax return", due_date="2026-12-15"),
    ),
    Case("new task buy stamps", NY, add("buy stamps")),
    Case("todo: renew domain name friday", NY, add("renew domain name", due_date="2026-12-04")),
    Case(
        "Add task: Book dentist p2 #health tomorrow 9am",
        NY,
        add(
            "Book dentist",
            due_date="2026-12-01",
            due_time="09:00",
            priority="high",
            tags=["health"],
        ),
    ),
    Case(
        "add 'Call Mom re: Thanksgiving' tomorrow at noon",
        NY,
        add("Call Mom re: Thanksgiving", due_date="2026-12-01", due_time="12:00"),
    ),
    Case(
        "add \u201cPlan Q1 roadmap\u201d next monday",
        NY,
        add("Plan Q1 roadmap", due_date="2026-12-07"),
    ),
    Case(
        "Remind me to check the mail in 20 mins",
        NY,
        add("check the mail", due_date="2026-11-30", due_time="10:20", reminders=before(0)),
    ),
    Case(
        "remind me in an hour to stretch",
        NY,
        add("stretch", due_date="2026-11-30", due_time="11:00", reminders=before(0)),
    ),
    Case(
        "make a dentist appointment for next tuesday",
        NY,
        add("make a dentist appointment", due_date="2026-12-08"),
    ),
    Case("Call mom", NY, add("Call mom")),
    # --- more recurrence -------------------------------------------------------------------
    Case(
        "every weekday standup at 10am",
        NY,
        add("standup", due_date="2026-12-01", due_time="10:00", recurrence=rec(WEEKDAYS)),
    ),
    Case(
        "take out recycling every other week on thursday",
        NY,
        add(
            "take out recycling",
            due_date="2026-12-03",
            recurrence=rec("FREQ=WEEKLY;BYDAY=TH;INTERVAL=2"),
        ),
    ),
    Case(
        "review budget quarterly",
        NY,
        add("review budget", due_date="2026-11-30", recurrence=rec("FREQ=MONTHLY;INTERVAL=3")),
    ),
    Case(
        "pay the phone bill every month on the 20th",
        NY,
        add(
            "pay the phone bill",
            due_date="2026-12-20",
            recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=20"),
        ),
    ),
    Case(
        "water the garden every 2 days at 7am",
        NY,
        add(
            "water the garden",
            due_date="2026-12-01",
            due_time="07:00",
            recurrence=rec("FREQ=DAILY;INTERVAL=2"),
        ),
    ),
    Case(
        "stand-up every morning at 9:15",
        NY,
        add("stand-up", due_date="2026-12-01", due_time="09:15", recurrence=rec("FREQ=DAILY")),
    ),
    Case(
        "journal every night",
        NY,
        add("journal", due_date="2026-11-30", due_time="20:00", recurrence=rec("FREQ=DAILY")),
    ),
    Case(
        "every 15th pay the nanny",
        NY,
        add("pay the nanny", due_date="2026-12-15", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=15")),
    ),
    Case(
        "birthday card for Lea every year on Feb 2",
        NY,
        add(
            "birthday card for Lea",
            due_date="2027-02-02",
            recurrence=rec("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=2"),
        ),
    ),
    Case(
        "every weekend clean the fridge",
        NY,
        add("clean the fridge", due_date="2026-12-05", recurrence=rec("FREQ=WEEKLY;BYDAY=SA,SU")),
    ),
    Case(
        "yoga every tue and thu at 6pm",
        NY,
        add(
            "yoga",
            due_date="2026-12-01",
            due_time="18:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=TU,TH"),
        ),
    ),
    Case(
        "review inbox every hour",
        NY,
        add("review inbox", due_date="2026-11-30", due_time="11:00", recurrence=rec("FREQ=HOURLY")),
    ),
    Case(
        "sync with Priya every monday starting next week",
        NY,
        add("sync with Priya", due_date="2026-12-07", recurrence=rec("FREQ=WEEKLY;BYDAY=MO")),
    ),
    Case(
        "weekly planning every monday",
        NY,
        add("weekly planning", due_date="2026-11-30", recurrence=rec("FREQ=WEEKLY;BYDAY=MO")),
    ),
    Case(
        "call mom every sunday at 5 until dec 31",
        NY,
        add(
            "call mom",
            due_date="2026-12-06",
            due_time="17:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=SU;UNTIL=20261231"),
        ),
    ),
    Case(
        "physio exercises every day 10 times",
        NY,
        add("physio exercises", due_date="2026-11-30", recurrence=rec("FREQ=DAILY;COUNT=10")),
    ),
    Case(
        "pay rent on the 1st of every month",
        NY,
        add("pay rent", due_date="2026-12-01", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=1")),
    ),
    Case(
        "Every day at 8pm take medicine",
        NY,
        add("take medicine", due_date="2026-11-30", due_time="20:00", recurrence=rec("FREQ=DAILY")),
    ),
    # --- more priorities, tags and reminders ----------------------------------------------
    Case(
        "Pay invoice - high priority - #finance",
        NY,
        add("Pay invoice", priority="high", tags=["finance"]),
    ),
    Case("important: renew passport photos", NY, add("renew passport photos", priority="high")),
    Case("Priority 1 fix prod bug", NY, add("fix prod bug", priority="urgent")),
    Case("fix login bug priority: high", NY, add("fix login bug", priority="high")),
    Case(
        "clean windows, medium priority, tags home and chores",
        NY,
        add("clean windows", priority="medium", tags=["home", "chores"]),
    ),
    Case("buy gift for Tom #Family", NY, add("buy gift for Tom", tags=["family"])),
    Case("order printer ink with tag office", NY, add("order printer ink", tags=["office"])),
    Case("call supplier, urgent", NY, add("call supplier", priority="urgent")),
    Case(
        "vet appointment friday at 10am, remind me an hour before",
        NY,
        add("vet appointment", due_date="2026-12-04", due_time="10:00", reminders=before(60)),
    ),
    Case(
        "standup tomorrow 9:30 with a reminder 15 min before",
        NY,
        add("standup", due_date="2026-12-01", due_time="09:30", reminders=before(15)),
    ),
    Case(
        "pay parking ticket friday remind me the day before",
        NY,
        add("pay parking ticket", due_date="2026-12-04", reminders=before(1440)),
    ),
    Case(
        "interview on thursday at 2pm, remind me at 9am",
        NY,
        add(
            "interview",
            due_date="2026-12-03",
            due_time="14:00",
            reminders=[{"at": "2026-12-03T09:00:00-05:00"}],
        ),
    ),
    # --- more listings ---------------------------------------------------------------------
    Case(
        "What do I have this week?",
        NY,
        listing(
            status="open",
            due_after="2026-11-30T00:00:00-05:00",
            due_before="2026-12-07T00:00:00-05:00",
        ),
    ),
    Case(
        "anything due next week?",
        NY,
        listing(
            status="open",
            due_after="2026-12-07T00:00:00-05:00",
            due_before="2026-12-14T00:00:00-05:00",
        ),
    ),
    Case("which tasks are overdue", NY, listing(overdue=True)),
    Case("overdue", NY, listing(overdue=True)),
    Case("show me what's overdue", NY, listing(overdue=True)),
    Case("Whats due tomorrow", NY, listing(status="open", **NY_TOMORROW)),
    Case("list my done tasks", NY, listing(status="done")),
    Case(
        "show tasks due by friday",
        NY,
        listing(status="open", due_before="2026-12-05T00:00:00-05:00"),
    ),
    Case(
        "what's due before wednesday",
        NY,
        listing(status="open", due_before="2026-12-02T00:00:00-05:00"),
    ),
    Case(
        "show my tasks sorted by priority",
        NY,
        listing(status="open", sort="priority", order="desc"),
    ),
    Case("show the top 5 urgent tasks", NY, listing(status="open", priority=["urgent"], limit=5)),
    Case("show p1 tasks", NY, listing(status="open", priority=["urgent"])),
    Case(
        "show low priority tasks tagged home",
        NY,
        listing(status="open", priority=["low"], tags=["home"]),
    ),
    Case(
        "list tasks for friday",
        NY,
        listing(
            status="open",
            due_after="2026-12-04T00:00:00-05:00",
            due_before="2026-12-05T00:00:00-05:00",
        ),
    ),
    Case("what's on my agenda today", NY, listing(status="open", **NY_TODAY)),
    Case("how many tasks do I have?", NY, listing(status="open")),
    Case("show my newest tasks", NY, listing(status="open", sort="created", order="desc")),
    Case(
        "show tasks due this month",
        NY,
        listing(
            status="open",
            due_after="2026-11-01T00:00:00-04:00",
            due_before="2026-12-01T00:00:00-05:00",
        ),
    ),
    Case(
        "what's due this weekend",
        NY,
        listing(
            status="open",
            due_after="2026-12-05T00:00:00-05:00",
            due_before="2026-12-07T00:00:00-05:00",
        ),
    ),
    Case("what's overdue in #work", NY, listing(overdue=True, tags=["work"])),
    Case(
        "show tasks due in the next 3 days",
        NY,
        listing(
            status="open",
            due_after="2026-11-30T00:00:00-05:00",
            due_before="2026-12-04T00:00:00-05:00",
        ),
    ),
    # --- more searches ---------------------------------------------------------------------
    Case("find dentist", NY, search("dentist")),
    Case("search tasks for passport", NY, search("passport")),
    Case("look up the invoice task", NY, search("invoice")),
    Case("Where's my passport task?", NY, search("passport")),
    Case("search 'Q3 planning'", NY, search("Q3 planning")),
    Case("find anything about the wedding", NY, search("wedding")),
    # --- more completions ------------------------------------------------------------------
    Case("finished the dishes", NY, complete("dishes")),
    Case("the dentist appointment is done", NY, complete("dentist")),
    Case("milk done", NY_LISTED, complete("milk")),
    Case("I did the plants", NY, complete("plants")),
    Case("mark #1 complete", NY_LISTED, complete("milk")),
    Case("tick off number 2", NY_LISTED, complete("team")),
    Case("mark the first one done", NY_LISTED, complete("milk")),
    Case("done: pay rent", NY, complete("rent")),
    Case("Completed the passport renewal", NY, complete("passport")),
    Case("i'm done with the oat milk", NY, complete("oat")),
    Case("done with it", NY_LISTED, question=True),
    Case("done with it", NY_ONE, complete("report")),
    Case("complete", NY, question=True),
    Case("done with 1 and 3", NY_LISTED, complete("milk") + complete("dentist")),
    Case(
        "mark all of today's tasks as done",
        NY,
        listing(status="open", **NY_TODAY),
        for_each=each("complete_task"),
    ),
    Case(
        "complete everything tagged errands",
        NY,
        listing(status="open", tags=["errands"]),
        for_each=each("complete_task"),
    ),
    Case(
        "mark everything overdue as done", NY, listing(overdue=True), for_each=each("complete_task")
    ),
    # --- more reopen and delete ------------------------------------------------------------
    Case("undo the taxes one", NY, reopen("taxes")),
    Case("reopen 2", NY_DONE_LISTED, reopen("taxes")),
    Case("uncheck the dishes", NY, reopen("dishes")),
    Case("mark call mom as incomplete", NY, reopen("mom")),
    Case("re-open the file taxes task", NY, reopen("taxes")),
    Case("reopen all completed tasks", NY, listing(status="done"), for_each=each("reopen_task")),
    Case("delete the rent task", NY, delete("rent")),
    Case("remove #2", NY_LISTED, delete("team")),
    Case("trash the oat milk one", NY, delete("oat")),
    Case("cancel the dentist appointment", NY, delete("dentist")),
    Case("erase the meeting with bob", NY, delete("bob")),
    Case("delete all overdue tasks", NY, listing(overdue=True), for_each=each("delete_task")),
    Case(
        "delete everything tagged old",
        NY,
        listing(status="open", tags=["old"]),
        for_each=each("delete_task"),
    ),
    Case("delete", NY, question=True),
    Case("delete the bread task", NY, reply=True),
    Case("complete the second", NY_LISTED, complete("team")),
    Case("delete the 3rd one", NY_LISTED, delete("dentist")),
    # --- more updates ----------------------------------------------------------------------
    Case("push the dentist to next monday", NY, update("dentist", due_date="2026-12-07")),
    Case("postpone rent to the 3rd", NY, update("rent", due_date="2026-12-03")),
    Case(
        "move 1 to tomorrow at 9am",
        NY_LISTED,
        update("milk", due_date="2026-12-01", due_time="09:00"),
    ),
    Case("move the last one to friday", NY_LISTED, update("dentist", due_date="2026-12-04")),
    Case(
        "change the due date of the report to friday", NY, update("report", due_date="2026-12-04")
    ),
    Case("set the passport task due tomorrow", NY, update("passport", due_date="2026-12-01")),
    Case("make 2 high priority", NY_LISTED, update("team", priority="high")),
    Case("mark the milk one as important", NY_LISTED, update("milk", priority="high")),
    Case("change priority of 3 to p1", NY_LISTED, update("dentist", priority="urgent")),
    Case("rename 'Buy milk' to 'Buy almond milk'", NY, update("milk", title="Buy almond milk")),
    Case("rename the dishes task to Wash dishes", NY, update("dishes", title="Wash dishes")),
    Case(
        "change the title of 2 to Weekly team sync",
        NY_LISTED,
        update("team", title="Weekly team sync"),
    ),
    Case("tag 3 with health", NY_LISTED, update("dentist", tags=["health"])),
    Case("add tag finance to the rent task", NY, update("rent", tags=["finance"])),
    Case(
        "make the plants one repeat every 3 days",
        NY,
        update("plants", recurrence=rec("FREQ=DAILY;INTERVAL=3")),
    ),
    Case("stop repeating the plants task", NY, update("plants", recurrence=None)),
    Case("clear the tags on the rent task", NY, update("rent", tags=[])),
    Case("remove the reminder from the dentist", NY, update("dentist", reminders=[])),
    Case(
        "add a note to the passport task: bring the old one",
        NY,
        update("passport", description="bring the old one"),
    ),
    Case(
        "move all my tasks due today to tomorrow",
        NY,
        listing(status="open", **NY_TODAY),
        for_each=each("update_task", due_date="2026-12-01"),
    ),
    Case(
        "move today's tasks to friday",
        NY,
        listing(status="open", **NY_TODAY),
        for_each=each("update_task", due_date="2026-12-04"),
    ),
    Case(
        "push all overdue tasks to tomorrow",
        NY,
        listing(overdue=True),
        for_each=each("update_task", due_date="2026-12-01"),
    ),
    Case(
        "make everything tagged work high priority",
        NY,
        listing(status="open", tags=["work"]),
        for_each=each("update_task", priority="high"),
    ),
    Case(
        "move all of tomorrow's meetings to friday",
        NY,
        listing(status="open", text="meeting", **NY_TOMORROW),
        for_each=each("update_task", due_date="2026-12-04"),
    ),
    Case("move the meeting to 3pm", NY, question=True),
    Case("move the yoga class to friday", NY, reply=True),
    Case("reschedule", NY, question=True),
    # --- more reminders on existing tasks --------------------------------------------------
    Case(
        "remind me about the team meeting 10 minutes before", NY, remind("team", minutes_before=10)
    ),
    Case("remind me of 2 at 4pm", NY_LISTED, remind("team", at="2026-11-30T16:00:00-05:00")),
    Case(
        "set a reminder on the rent task for friday 9am",
        NY,
        remind("rent", at="2026-12-04T09:00:00-05:00"),
    ),
    Case("add a reminder to the report 1 hour before", NY, remind("report", minutes_before=60)),
    Case(
        "set a reminder to call the bank at 3pm",
        NY,
        add("call the bank", due_date="2026-11-30", due_time="15:00", reminders=before(0)),
    ),
    Case("remind me about it in 2 hours", NY_ONE, remind("report", at="2026-11-30T12:00:00-05:00")),
    Case("remind me about the dentist", NY, question=True),
    # --- more confirmations and conversation -----------------------------------------------
    Case("yep", NY_CONFIRM, confirmed=True),
    Case("go ahead", NY_CONFIRM, confirmed=True),
    Case("cancel", NY_CONFIRM, confirmed=False),
    Case("no, don't", NY_CONFIRM, confirmed=False),
    Case("sure, do it", NY_CONFIRM, confirmed=True),
    Case("Y", NY_CONFIRM, confirmed=True),
    Case("show my tasks", NY_CONFIRM, listing(status="open")),
    Case("ok", NY, reply=True),
    Case("hi there", NY, reply=True),
    Case("what can you do?", NY, reply=True),
    Case("help", NY, reply=True),
    Case("thank you so much", NY, reply=True),
    Case("?", NY, reply=True),
    # --- more time zones and DST edges -----------------------------------------------------
    Case(
        "check the boiler tomorrow at 2:30am",
        BERLIN,
        add("check the boiler", due_date="2026-03-29", due_time="02:30"),
    ),
    Case(
        "remind me about the rent at 2:30am tomorrow",
        BERLIN,
        remind("rent", at="2026-03-29T03:30:00+02:00"),
    ),
    Case(
        "what's due this week",
        BERLIN,
        listing(
            status="open",
            due_after="2026-03-23T00:00:00+01:00",
            due_before="2026-03-30T00:00:00+02:00",
        ),
    ),
    Case(
        "feed the fish in 3 hours",
        NY_FALL,
        add("feed the fish", due_date="2026-11-01", due_time="01:30"),
    ),
    Case(
        "what's due tomorrow",
        NY_FALL,
        listing(
            status="open",
            due_after="2026-11-01T00:00:00-04:00",
            due_before="2026-11-02T00:00:00-05:00",
        ),
    ),
    Case(
        "remind me about the dentist tomorrow at 1:30am",
        NY_FALL,
        remind("dentist", at="2026-11-01T01:30:00-04:00"),
    ),
    Case(
        "countdown party in 30 minutes",
        TOKYO,
        add("countdown party", due_date="2026-12-31", due_time="23:30"),
    ),
    Case(
        "shrine visit in 2 hours",
        TOKYO,
        add("shrine visit", due_date="2027-01-01", due_time="01:00"),
    ),
    Case("send greetings next week", TOKYO, add("send greetings", due_date="2027-01-04")),
    Case("plan the year next month", TOKYO, add("plan the year", due_date="2027-01-01")),
    Case(
        "what's due today",
        TOKYO,
        listing(
            status="open",
            due_after="2026-12-31T00:00:00+09:00",
            due_before="2027-01-01T00:00:00+09:00",
        ),
    ),
    Case(
        "gym every monday at 7am",
        TOKYO,
        add("gym", due_date="2027-01-04", due_time="07:00", recurrence=rec("FREQ=WEEKLY;BYDAY=MO")),
    ),
    Case(
        "call the office at 9:30",
        KOLKATA,
        add("call the office", due_date="2026-06-12", due_time="09:30"),
    ),
    Case("submit GST return on the 20th", KOLKATA, add("submit GST return", due_date="2026-06-20")),
    Case(
        "pay the maid every last day of the month",
        KOLKATA,
        add("pay the maid", due_date="2026-06-30", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=-1")),
    ),
    Case("brunch tomorrow at 10", SYDNEY, add("brunch", due_date="2026-10-04", due_time="10:00")),
    Case(
        "what's due tomorrow",
        SYDNEY,
        listing(
            status="open",
            due_after="2026-10-04T00:00:00+10:00",
            due_before="2026-10-05T00:00:00+11:00",
        ),
    ),
    Case(
        "remind me about the rent tomorrow at 2:30am",
        SYDNEY,
        remind("rent", at="2026-10-04T03:30:00+11:00"),
    ),
    Case(
        "dinner reservations tonight",
        LA,
        add("dinner reservations", due_date="2026-07-15", due_time="20:00"),
    ),
    Case("pool party this weekend", LA, add("pool party", due_date="2026-07-18")),
    Case("pay rent on the 15th", LA, add("pay rent", due_date="2026-07-15")),
    Case(
        "independence day prep every year on july 4",
        LA,
        add(
            "independence day prep",
            due_date="2027-07-04",
            recurrence=rec("FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=4"),
        ),
    ),
    Case(
        "call the landlord in 90 minutes",
        LA,
        add("call the landlord", due_date="2026-07-15", due_time="18:15"),
    ),
    Case("pay the sitter on the 30th", UTC, add("pay the sitter", due_date="2026-03-30")),
    Case(
        "pay rent every month on the 29th",
        UTC,
        add("pay rent", due_date="2026-03-29", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=29")),
    ),
    Case("book tickets next month", UTC, add("book tickets", due_date="2026-03-01")),
    Case("tax deadline in 1 month", UTC, add("tax deadline", due_date="2026-03-28")),
    Case(
        "call the bank at 9",
        NY_EVENING,
        add("call the bank", due_date="2026-12-01", due_time="09:00"),
    ),
    Case(
        "watch the game tonight",
        NY_EVENING,
        add("watch the game", due_date="2026-11-30", due_time="20:00"),
    ),
    Case(
        "take out trash this evening",
        NY_EVENING,
        add("take out trash", due_date="2026-11-30", due_time="18:00"),
    ),
    # --- more titles that look like dates or commands --------------------------------------
    Case("Read the May issue", NY, add("Read the May issue")),
    Case("Prepare March madness bracket", NY, add("Prepare March madness bracket")),
    Case("Email Sunday school teacher", NY, add("Email Sunday school teacher")),
    Case("Plan next week's menu", NY, add("Plan next week's menu")),
    Case("Watch Tomorrowland documentary", NY, add("Watch Tomorrowland documentary")),
    Case("Buy a new daily planner", NY, add("Buy a new daily planner")),
    Case("Write the end of month report", NY, add("Write the end of month report")),
    Case("Fix the weekend schedule", NY, add("Fix the weekend schedule")),
    Case("Schedule the Monday meeting", NY, add("Schedule the Monday meeting")),
    Case("Order 5 monitors", NY, add("Order 5 monitors")),
    Case("Buy 2 tickets for the 8pm show", NY, add("Buy 2 tickets for the 8pm show")),
    Case("Book the 7:45 train tomorrow", NY, add("Book the 7:45 train", due_date="2026-12-01")),
    Case("Finish chapter 3", NY, add("Finish chapter 3")),
    Case("Complete the online course", NY, add("Complete the online course")),
    Case("Delete old emails", NY, add("Delete old emails")),
    Case("Remove snow from driveway", NY, add("Remove snow from driveway")),
    Case("Cancel gym membership", NY, add("Cancel gym membership")),
    Case("Check every room for smoke alarms", NY, add("Check every room for smoke alarms")),
    Case("Mark exams", NY, add("Mark exams")),
    Case("Set up the new router", NY, add("Set up the new router")),
    Case(
        "Make dinner reservations for friday",
        NY,
        add("Make dinner reservations", due_date="2026-12-04"),
    ),
    Case(
        "Change oil in the car next month", NY, add("Change oil in the car", due_date="2026-12-01")
    ),
    Case("Update the website footer", NY, add("Update the website footer")),
    Case("Push code to prod friday", NY, add("Push code to prod", due_date="2026-12-04")),
    # === a later round, written before running it ========================================
    Case(
        "Pls add pick up prescription at 4:30pm",
        NY,
        add("pick up prescription", due_date="2026-11-30", due_time="16:30"),
    ),
    Case(
        "can you remind me to water the tomatoes every evening",
        NY,
        add(
            "water the tomatoes",
            due_date="2026-11-30",
            due_time="18:00",
            recurrence=rec("FREQ=DAILY"),
            reminders=before(0),
        ),
    ),
    Case("note to self: call the insurance company", NY, add("call the insurance company")),
    Case(
        "I have to renew my driver's license next month, p2",
        NY,
        add("renew my driver's license", due_date="2026-12-01", priority="high"),
    ),
    Case(
        "grocery run saturday at 10am #errands",
        NY,
        add("grocery run", due_date="2026-12-05", due_time="10:00", tags=["errands"]),
    ),
    Case(
        "Book hotel for Lisbon trip by Dec 10",
        NY,
        add("Book hotel for Lisbon trip", due_date="2026-12-10"),
    ),
    Case(
        "submit expense report on monday", NY, add("submit expense report", due_date="2026-12-07")
    ),
    Case(
        "prep for the interview on the 2nd at 9:30",
        NY,
        add("prep for the interview", due_date="2026-12-02", due_time="09:30"),
    ),
    Case("haircut in 2 weeks at 3pm", NY, add("haircut", due_date="2026-12-14", due_time="15:00")),
    Case(
        "Call the electrician tomorrow afternoon",
        NY,
        add("Call the electrician", due_date="2026-12-01", due_time="15:00"),
    ),
    Case(
        "quarterly taxes every 3 months on the 15th",
        NY,
        add(
            "quarterly taxes",
            due_date="2026-12-15",
            recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=15;INTERVAL=3"),
        ),
    ),
    Case(
        "bins out every tuesday night",
        NY,
        add(
            "bins out",
            due_date="2026-12-01",
            due_time="20:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=TU"),
        ),
    ),
    Case(
        "biweekly sync with manager on wednesdays at 2pm",
        NY,
        add(
            "sync with manager",
            due_date="2026-12-02",
            due_time="14:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=WE;INTERVAL=2"),
        ),
    ),
    Case(
        "every 2nd monday of the month team retro",
        NY,
        add("team retro", due_date="2026-12-14", recurrence=rec("FREQ=MONTHLY;BYDAY=2MO")),
    ),
    Case(
        "pay rent on the first of each month",
        NY,
        add("pay rent", due_date="2026-12-01", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=1")),
    ),
    Case(
        "run 5k every other day",
        NY,
        add("run 5k", due_date="2026-11-30", recurrence=rec("FREQ=DAILY;INTERVAL=2")),
    ),
    Case(
        "weekly: clean the aquarium",
        NY,
        add("clean the aquarium", due_date="2026-11-30", recurrence=rec("FREQ=WEEKLY")),
    ),
    Case(
        "every Monday and Wednesday at 6:30 am swim",
        NY,
        add(
            "swim",
            due_date="2026-12-02",
            due_time="06:30",
            recurrence=rec("FREQ=WEEKLY;BYDAY=MO,WE"),
        ),
    ),
    Case("what's left for today?", NY, listing(status="open", **NY_TODAY)),
    Case(
        "Do I have anything due this afternoon?",
        NY,
        listing(
            status="open",
            due_after="2026-11-30T12:00:00-05:00",
            due_before="2026-11-30T17:00:00-05:00",
        ),
    ),
    Case("show me everything tagged urgent", NY, listing(status="open", tags=["urgent"])),
    Case("list open tasks sorted by due date", NY, listing(status="open", sort="due", order="asc")),
    Case(
        "what tasks are due friday?",
        NY,
        listing(
            status="open",
            due_after="2026-12-04T00:00:00-05:00",
            due_before="2026-12-05T00:00:00-05:00",
        ),
    ),
    Case("show overdue high priority tasks", NY, listing(overdue=True, priority=["high"])),
    Case("show me tasks with the tag finance", NY, listing(status="open", tags=["finance"])),
    Case("list all my tasks alphabetically", NY, listing(status="open", sort="title", order="asc")),
    Case("any overdue tasks?", NY, listing(overdue=True)),
    Case("search for 'tax return'", NY, search("tax return")),
    Case("find the task about the landlord", NY, search("landlord")),
    Case("look for anything mentioning Berlin", NY, search("Berlin")),
    Case("Done with the passport renewal", NY, complete("passport")),
    Case("I've finished the report", NY, complete("report")),
    Case("mark the dishes as complete", NY, complete("dishes")),
    Case("completed number 3", NY_LISTED, complete("dentist")),
    Case("check off #2", NY_LISTED, complete("team")),
    Case("mark the oat milk one as not done", NY, reopen("oat")),
    Case("delete 1 and 2", NY_LISTED, delete("milk") + delete("team")),
    Case("remove the task called Pay rent", NY, delete("rent")),
    Case("delete the one about Anna", NY, delete("talk")),
    Case("delete it", NY_ONE, delete("report")),
    Case("please delete the dentist appointment, thanks", NY, delete("dentist")),
    Case("move the report to next week", NY, update("report", due_date="2026-12-07")),
    Case(
        "reschedule the call with anna for thursday at 11",
        NY,
        update("talk", due_date="2026-12-03", due_time="11:00"),
    ),
    Case("bump the rent task to p1", NY, update("rent", priority="urgent")),
    Case(
        "set the dentist appointment for 4pm tomorrow",
        NY,
        update("dentist", due_date="2026-12-01", due_time="16:00"),
    ),
    Case(
        "change the rent one to every month on the 1st",
        NY,
        update("rent", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=1")),
    ),
    Case("make the dishes task repeat daily", NY, update("dishes", recurrence=rec("FREQ=DAILY"))),
    Case("set priority of the plants task to medium", NY, update("plants", priority="medium")),
    Case('rename task 2 to "Sprint planning"', NY_LISTED, update("team", title="Sprint planning")),
    Case("tag the passport one as travel", NY, update("passport", tags=["travel"])),
    Case("remove the due date on 1", NY_LISTED, update("milk", due_date=None, due_time=None)),
    Case(
        "move everything from today to tomorrow",
        NY,
        listing(status="open", **NY_TODAY),
        for_each=each("update_task", due_date="2026-12-01"),
    ),
    Case(
        "remind me about the rent on friday at 9",
        NY,
        remind("rent", at="2026-12-04T09:00:00-05:00"),
    ),
    Case("ping me 15 minutes before the team meeting", NY, remind("team", minutes_before=15)),
    Case(
        "set a reminder for 3 at 5pm", NY_LISTED, remind("dentist", at="2026-11-30T17:00:00-05:00")
    ),
    Case("yes delete it", NY_CONFIRM, confirmed=True),
    Case("no wait", NY_CONFIRM, confirmed=False),
    Case("ok do it", NY_CONFIRM, confirmed=True),
    Case("nah", NY_CONFIRM, confirmed=False),
    Case(
        "what's due this week",
        KOLKATA,
        listing(
            status="open",
            due_after="2026-06-08T00:00:00+05:30",
            due_before="2026-06-15T00:00:00+05:30",
        ),
    ),
    Case(
        "call grandma sunday afternoon",
        LA,
        add("call grandma", due_date="2026-07-19", due_time="15:00"),
    ),
    Case(
        "sunrise walk tomorrow at 6am",
        SYDNEY,
        add("sunrise walk", due_date="2026-10-04", due_time="06:00"),
    ),
    Case(
        "standup every weekday at 9",
        BERLIN,
        add("standup", due_date="2026-03-30", due_time="09:00", recurrence=rec(WEEKDAYS)),
    ),
    Case(
        "check the clocks in 1 hour",
        NY_FALL,
        add("check the clocks", due_date="2026-11-01", due_time="00:30"),
    ),
    Case(
        "return library books in 3 days", TOKYO, add("return library books", due_date="2027-01-03")
    ),
    Case(
        "every month on the 31st pay bills",
        UTC,
        add("pay bills", due_date="2026-03-31", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=31")),
    ),
    Case("ADD BUY BREAD", NY, add("BUY BREAD")),
    Case(
        "remind me to call Ana tomorow at 8",
        NY,
        add("call Ana", due_date="2026-12-01", due_time="08:00", reminders=before(0)),
    ),
    Case("whats overdue", NY, listing(overdue=True)),
    Case("shwo my tasks", NY, listing(status="open")),
    Case("delte the milk one", NY_LISTED, delete("milk")),
    Case("mark teh dishes as done", NY, complete("dishes")),
    # === a third round, written before running it ========================================
    Case('add "delete old backups" to my list', NY, add("delete old backups")),
    Case('"Move the couch" on saturday', NY, add("Move the couch", due_date="2026-12-05")),
    Case(
        "remind me to 'Email Dana about Friday' at 4pm",
        NY,
        add(
            "Email Dana about Friday", due_date="2026-11-30", due_time="16:00", reminders=before(0)
        ),
    ),
    Case("add task 'Call Monday.com support'", NY, add("Call Monday.com support")),
    Case(
        "Buy a birthday gift for Mom by next Thursday",
        NY,
        add("Buy a birthday gift for Mom", due_date="2026-12-10"),
    ),
    Case(
        "Meeting with Sara at 3:45 pm tomorrow",
        NY,
        add("Meeting with Sara", due_date="2026-12-01", due_time="15:45"),
    ),
    Case(
        "submit the grant application before 5pm friday",
        NY,
        add("submit the grant application", due_date="2026-12-04", due_time="17:00"),
    ),
    Case(
        "take the car in for service on 12/3",
        NY,
        add("take the car in for service", due_date="2026-12-03"),
    ),
    Case(
        "doctor's appt the day after tomorrow at 10",
        NY,
        add("doctor's appt", due_date="2026-12-02", due_time="10:00"),
    ),
    Case(
        "pay electricity bill in a fortnight",
        NY,
        add("pay electricity bill", due_date="2026-12-14"),
    ),
    Case(
        "send thank-you notes this weekend", NY, add("send thank-you notes", due_date="2026-12-05")
    ),
    Case(
        "clean the gutters sometime next week", NY, add("clean the gutters", due_date="2026-12-07")
    ),
    Case("Prepare for Monday's presentation", NY, add("Prepare for Monday's presentation")),
    Case("Morning run tomorrow", NY, add("Morning run", due_date="2026-12-01")),
    Case(
        "evening walk every day at 7pm",
        NY,
        add("evening walk", due_date="2026-11-30", due_time="19:00", recurrence=rec("FREQ=DAILY")),
    ),
    Case("lunch tomorrow at 12:30", NY, add("lunch", due_date="2026-12-01", due_time="12:30")),
    Case(
        "call the school at 8:05",
        NY,
        add("call the school", due_date="2026-12-01", due_time="08:05"),
    ),
    Case(
        "water plants every sat and sun morning",
        NY,
        add(
            "water plants",
            due_date="2026-12-05",
            due_time="09:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=SA,SU"),
        ),
    ),
    Case(
        "pay the cleaner every 2 weeks on friday",
        NY,
        add(
            "pay the cleaner",
            due_date="2026-12-04",
            recurrence=rec("FREQ=WEEKLY;BYDAY=FR;INTERVAL=2"),
        ),
    ),
    Case(
        "every thursday at 8 bin day",
        NY,
        add(
            "bin day",
            due_date="2026-12-03",
            due_time="08:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=TH"),
        ),
    ),
    Case(
        "renew the lease every year",
        NY,
        add("renew the lease", due_date="2026-11-30", recurrence=rec("FREQ=YEARLY")),
    ),
    Case(
        "check smoke alarms every 6 months",
        NY,
        add("check smoke alarms", due_date="2026-11-30", recurrence=rec("FREQ=MONTHLY;INTERVAL=6")),
    ),
    Case(
        "every last friday of the month submit timesheet",
        NY,
        add("submit timesheet", due_date="2026-12-25", recurrence=rec("FREQ=MONTHLY;BYDAY=-1FR")),
    ),
    Case("fix the leak (urgent)", NY, add("fix the leak", priority="urgent")),
    Case("p3 buy batteries", NY, add("buy batteries", priority="medium")),
    Case(
        "Call the mayor, priority high, tag civic",
        NY,
        add("Call the mayor", priority="high", tags=["civic"]),
    ),
    Case("what's on today", NY, listing(status="open", **NY_TODAY)),
    Case(
        "what's coming up this week",
        NY,
        listing(
            status="open",
            due_after="2026-11-30T00:00:00-05:00",
            due_before="2026-12-07T00:00:00-05:00",
        ),
    ),
    Case("show me tomorrow's tasks", NY, listing(status="open", **NY_TOMORROW)),
    Case(
        "list everything due before the 10th",
        NY,
        listing(status="open", due_before="2026-12-10T00:00:00-05:00"),
    ),
    Case("show 10 tasks", NY, listing(status="open", limit=10)),
    Case("list the first 3 tasks", NY, listing(status="open", limit=3)),
    Case(
        "what's due after friday", NY, listing(status="open", due_after="2026-12-05T00:00:00-05:00")
    ),
    Case("anything urgent?", NY, listing(status="open", priority=["urgent"])),
    Case("search milk", NY, search("milk")),
    Case('find "quarterly report"', NY, search("quarterly report")),
    Case("do I have a task about the car?", NY, listing(status="open", text="car")),
    Case("Finished!", NY_ONE, complete("report")),
    Case("Finished!", NY_LISTED, question=True),
    Case("the plants are done", NY, complete("plants")),
    Case("finished task 2 and 3", NY_LISTED, complete("team") + complete("dentist")),
    Case("reopen the last one", NY_DONE_LISTED, reopen("taxes")),
    Case("delete the second and third ones", NY_LISTED, delete("team") + delete("dentist")),
    Case(
        "remove all tasks tagged test",
        NY,
        listing(status="open", tags=["test"]),
        for_each=each("delete_task"),
    ),
    Case("delete my dentist appointment", NY, delete("dentist")),
    Case("move my dentist appointment to 4:30pm", NY, update("dentist", due_time="16:30")),
    Case("change the report's due date to dec 20", NY, update("report", due_date="2026-12-20")),
    Case("make the report due next friday", NY, update("report", due_date="2026-12-11")),
    Case("the rent is due on the 3rd", NY, update("rent", due_date="2026-12-03")),
    Case("rename milk to oat milk", NY_LISTED, update("milk", title="oat milk")),
    Case("set 1 to low priority", NY_LISTED, update("milk", priority="low")),
    Case("untag the rent task", NY, update("rent", tags=[])),
    Case(
        "push everything tagged work to monday",
        NY,
        listing(status="open", tags=["work"]),
        for_each=each("update_task", due_date="2026-12-07"),
    ),
    Case(
        "reschedule my overdue tasks for tomorrow",
        NY,
        listing(overdue=True),
        for_each=each("update_task", due_date="2026-12-01"),
    ),
    Case(
        "remind me 1 hour before the dentist appointment", NY, remind("dentist", minutes_before=60)
    ),
    Case(
        "set a reminder for the team meeting 2 days before", NY, remind("team", minutes_before=2880)
    ),
    Case(
        "remind me of the passport task next monday at 9am",
        NY,
        remind("passport", at="2026-12-07T09:00:00-05:00"),
    ),
    Case("Yes!", NY_CONFIRM, confirmed=True),
    Case("No thanks", NY_CONFIRM, confirmed=False),
    Case("yeah go for it", NY_CONFIRM, confirmed=True),
    Case("hmm, not now", NY_CONFIRM, confirmed=False),
    Case(
        "remind me to call Oma in 3 hours",
        BERLIN,
        add("call Oma", due_date="2026-03-29", due_time="01:30", reminders=before(0)),
    ),
    Case(
        "every day at 2:30am backup check",
        BERLIN,
        add("backup check", due_date="2026-03-29", due_time="02:30", recurrence=rec("FREQ=DAILY")),
    ),
    Case(
        "wake up call tomorrow at 1:30am",
        NY_FALL,
        add("wake up call", due_date="2026-11-01", due_time="01:30"),
    ),
    Case(
        "sunset photos at 8:15pm", LA, add("sunset photos", due_date="2026-07-15", due_time="20:15")
    ),
    Case(
        "standup every weekday at 10",
        KOLKATA,
        add("standup", due_date="2026-06-12", due_time="10:00", recurrence=rec(WEEKDAYS)),
    ),
    Case(
        "send the report by end of the year", TOKYO, add("send the report", due_date="2026-12-31")
    ),
    Case(
        "lawn every sunday at 8am",
        SYDNEY,
        add(
            "lawn", due_date="2026-10-04", due_time="08:00", recurrence=rec("FREQ=WEEKLY;BYDAY=SU")
        ),
    ),
    Case(
        "what's due next month",
        UTC,
        listing(
            status="open",
            due_after="2026-03-01T00:00:00+00:00",
            due_before="2026-04-01T00:00:00+00:00",
        ),
    ),
    # === a fourth round, written before running it =======================================
    Case("dentist on Dec 1st at 2", NY, add("dentist", due_date="2026-12-01", due_time="14:00")),
    Case("pay taxes by 12/31", NY, add("pay taxes", due_date="2026-12-31")),
    Case("haircut next Sat", NY, add("haircut", due_date="2026-12-12")),
    Case("tea in 45 min", NY, add("tea", due_date="2026-11-30", due_time="10:45")),
    Case("team call at 6:00 PM", NY, add("team call", due_date="2026-11-30", due_time="18:00")),
    Case("deploy at 18:00", NY, add("deploy", due_date="2026-11-30", due_time="18:00")),
    Case("call Jess tomorrow @ 3pm", NY, add("call Jess", due_date="2026-12-01", due_time="15:00")),
    Case("ship it on Friday, December 4", NY, add("ship it", due_date="2026-12-04")),
    Case(
        "New Year's card every January 1st",
        NY,
        add(
            "New Year's card",
            due_date="2027-01-01",
            recurrence=rec("FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"),
        ),
    ),
    Case(
        "pay bills on the 1st and 15th of every month",
        NY,
        add("pay bills", due_date="2026-12-01", recurrence=rec("FREQ=MONTHLY;BYMONTHDAY=1,15")),
    ),
    Case("spring cleaning top priority", NY, add("spring cleaning", priority="urgent")),
    Case("renew insurance prio high", NY, add("renew insurance", priority="high")),
    Case("change 2 to friday", NY_LISTED, update("team", due_date="2026-12-04")),
    Case("snooze the dentist until tomorrow", NY, update("dentist", due_date="2026-12-01")),
    Case("make it high priority", NY_ONE, update("report", priority="high")),
    Case("rename it to Write Q4 report", NY_ONE, update("report", title="Write Q4 report")),
    Case("set the due time of the report to 5pm", NY, update("report", due_time="17:00")),
    Case("delete the second one", NY_LISTED, delete("team")),
    Case("find my tasks with 'invoice'", NY, search("invoice")),
    Case("remind me 2 hours before it", NY_ONE, remind("report", minutes_before=120)),
    Case("what's my schedule for tomorrow", NY, listing(status="open", **NY_TOMORROW)),
    Case(
        "show everything due today tagged home",
        NY,
        listing(status="open", tags=["home"], **NY_TODAY),
    ),
    Case("show done tasks sorted by title", NY, listing(status="done", sort="title", order="asc")),
    Case("I completed 1", NY_LISTED, complete("milk")),
    Case("done with the bob meeting", NY, complete("bob")),
    Case("scratch the passport task", NY, delete("passport")),
    Case("nevermind", NY_CONFIRM, confirmed=False),
    Case("yes, go ahead and delete it", NY_CONFIRM, confirmed=True),
    Case("confirm", NY_CONFIRM, confirmed=True),
    Case("don't delete it", NY_CONFIRM, confirmed=False),
    Case(
        "remind me to drink water every 2 hours",
        KOLKATA,
        add(
            "drink water",
            due_date="2026-06-12",
            due_time="09:00",
            recurrence=rec("FREQ=HOURLY;INTERVAL=2"),
            reminders=before(0),
        ),
    ),
    Case(
        "what's due tomorrow",
        KOLKATA,
        listing(
            status="open",
            due_after="2026-06-13T00:00:00+05:30",
            due_before="2026-06-14T00:00:00+05:30",
        ),
    ),
    Case(
        "meeting prep 30 minutes from now",
        LA,
        add("meeting prep", due_date="2026-07-15", due_time="17:15"),
    ),
    Case(
        "call mom in a couple of hours",
        LA,
        add("call mom", due_date="2026-07-15", due_time="18:45"),
    ),
    Case(
        "brunch on sunday at 11am", SYDNEY, add("brunch", due_date="2026-10-04", due_time="11:00")
    ),
    Case("fireworks at midnight", TOKYO, add("fireworks", due_date="2027-01-01", due_time="00:00")),
    Case(
        "what's due today",
        BERLIN,
        listing(
            status="open",
            due_after="2026-03-28T00:00:00+01:00",
            due_before="2026-03-29T00:00:00+01:00",
        ),
    ),
    Case(
        "what's due this week",
        NY_FALL,
        listing(
            status="open",
            due_after="2026-10-26T00:00:00-04:00",
            due_before="2026-11-02T00:00:00-05:00",
        ),
    ),
    Case("pay rent end of next month", UTC, add("pay rent", due_date="2026-03-31")),
    Case(
        "gym tomorrow morning at 6:30",
        NY_EVENING,
        add("gym", due_date="2026-12-01", due_time="06:30"),
    ),
    Case(
        "meds every night at 10",
        NY_EVENING,
        add("meds", due_date="2026-11-30", due_time="22:00", recurrence=rec("FREQ=DAILY")),
    ),
    Case("Plan the Tuesday standup agenda", NY, add("Plan the Tuesday standup agenda")),
    Case("Clean the July receipts", NY, add("Clean the July receipts")),
    Case("Prepare the 3pm briefing", NY, add("Prepare the 3pm briefing")),
    Case(
        "Finish the Monday report by wednesday",
        NY,
        add("Finish the Monday report", due_date="2026-12-02"),
    ),
    # === a fifth round, written before running it ========================================
    Case(
        "hey can you add a task for me: get the car washed saturday",
        NY,
        add("get the car washed", due_date="2026-12-05"),
    ),
    Case(
        "i need to remember to call the dentist on thursday",
        NY,
        add("call the dentist", due_date="2026-12-03"),
    ),
    Case(
        "could you please remind me to send the invoice on friday at 10",
        NY,
        add("send the invoice", due_date="2026-12-04", due_time="10:00", reminders=before(0)),
    ),
    Case("what do i need to do today", NY, listing(status="open", **NY_TODAY)),
    Case(
        "can you show me what's due this week please",
        NY,
        listing(
            status="open",
            due_after="2026-11-30T00:00:00-05:00",
            due_before="2026-12-07T00:00:00-05:00",
        ),
    ),
    Case("mark task 1 as done please", NY_LISTED, complete("milk")),
    Case("ok, delete number 3", NY_LISTED, delete("dentist")),
    Case("actually make that tomorrow", NY_ONE, update("report", due_date="2026-12-01")),
    Case("change it to 3pm", NY_ONE, update("report", due_time="15:00")),
    Case("move it to next week", NY_ONE, update("report", due_date="2026-12-07")),
    Case("what's next?", NY, listing(status="open", sort="due", order="asc", limit=1)),
    Case("tasks for tomorrow", NY, listing(status="open", **NY_TOMORROW)),
    Case(
        "remind me about the passport thing tomorrow morning",
        NY,
        remind("passport", at="2026-12-01T09:00:00-05:00"),
    ),
    Case("put 'Buy stamps' on my list for tomorrow", NY, add("Buy stamps", due_date="2026-12-01")),
    Case("set a reminder", NY, question=True),
    Case("push the 2nd one back to thursday", NY_LISTED, update("team", due_date="2026-12-03")),
    Case("please remove the oat milk", NY, delete("oat")),
    Case("done", NY_LISTED, question=True),
    Case("How many overdue tasks do I have?", NY, listing(overdue=True)),
    Case("list tasks tagged home and garden", NY, listing(status="open", tags=["home", "garden"])),
    Case("show tasks with priority high", NY, listing(status="open", priority=["high"])),
    Case("show my p2 tasks", NY, listing(status="open", priority=["high"])),
    Case("find 'dentist'", NY, search("dentist")),
    Case("look up taxes", NY, search("taxes")),
    Case("add buy milk and eggs", NY, add("buy milk and eggs")),
    Case(
        "add call plumber, tomorrow 8am, urgent",
        NY,
        add("call plumber", due_date="2026-12-01", due_time="08:00", priority="urgent"),
    ),
    Case("Email the team about Friday's offsite", NY, add("Email the team about Friday's offsite")),
    Case(
        "Submit the May expense report by May 5",
        NY,
        add("Submit the May expense report", due_date="2027-05-05"),
    ),
    Case(
        "Back up photos every sunday night",
        NY,
        add(
            "Back up photos",
            due_date="2026-12-06",
            due_time="20:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=SU"),
        ),
    ),
    Case(
        "review PRs every weekday morning",
        NY,
        add("review PRs", due_date="2026-12-01", due_time="09:00", recurrence=rec(WEEKDAYS)),
    ),
    Case(
        "take the bins out every other monday evening",
        NY,
        add(
            "take the bins out",
            due_date="2026-11-30",
            due_time="18:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=MO;INTERVAL=2"),
        ),
    ),
    Case(
        "reminder: dentist tomorrow at 9",
        NY,
        add("dentist", due_date="2026-12-01", due_time="09:00", reminders=before(0)),
    ),
    Case(
        "weekly review every friday at 4pm",
        NY,
        add(
            "weekly review",
            due_date="2026-12-04",
            due_time="16:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=FR"),
        ),
    ),
    Case("every day", NY, question=True),
    Case(
        "what's due tonight",
        LA,
        listing(
            status="open",
            due_after="2026-07-15T17:00:00-07:00",
            due_before="2026-07-16T00:00:00-07:00",
        ),
    ),
    Case(
        "what's due this weekend",
        SYDNEY,
        listing(
            status="open",
            due_after="2026-10-03T00:00:00+10:00",
            due_before="2026-10-05T00:00:00+11:00",
        ),
    ),
    Case(
        "what's due next week",
        TOKYO,
        listing(
            status="open",
            due_after="2027-01-04T00:00:00+09:00",
            due_before="2027-01-11T00:00:00+09:00",
        ),
    ),
    Case(
        "remind me about the rent in 90 minutes",
        KOLKATA,
        remind("rent", at="2026-06-12T09:45:00+05:30"),
    ),
    Case(
        "call Oma on Sunday at 10", BERLIN, add("call Oma", due_date="2026-03-29", due_time="10:00")
    ),
    Case(
        "dentist on monday at 9am", NY_FALL, add("dentist", due_date="2026-11-02", due_time="09:00")
    ),
    # === several tasks at once, days without "every", and known misses ===================
    Case(
        "move the team meeting and the dentist appointment to friday",
        NY,
        update("team", due_date="2026-12-04") + update("dentist", due_date="2026-12-04"),
    ),
    Case(
        "gym mon wed fri at 7am",
        NY,
        add(
            "gym",
            due_date="2026-12-02",
            due_time="07:00",
            recurrence=rec("FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        ),
    ),
    Case(
        "call mom tuesday and thursday",
        NY,
        add("call mom", due_date="2026-12-01", recurrence=rec("FREQ=WEEKLY;BYDAY=TU,TH")),
    ),
    Case(
        "Buy tickets for Friday Night Lights",
        NY,
        add("Buy tickets for Friday Night Lights"),
        xfail="a capitalised name made of date words reads as Friday at 20:00",
    ),
    # === a sixth round, written before running it ========================================
    Case(
        "Hey! Remind me to pick up Leo from school at 3:15",
        NY,
        add(
            "pick up Leo from school", due_date="2026-11-30", due_time="15:15", reminders=before(0)
        ),
    ),
    Case(
        "I gotta call the bank before noon",
        NY,
        add("call the bank", due_date="2026-11-30", due_time="12:00"),
    ),
    Case(
        "Can u add dentist appt for next wed at 4",
        NY,
        add("dentist appt", due_date="2026-12-09", due_time="16:00"),
    ),
    Case(
        "Put laundry on my todo list for tonight",
        NY,
        add("laundry", due_date="2026-11-30", due_time="20:00"),
    ),
    Case("What have I got on tomorrow?", NY, listing(status="open", **NY_TOMORROW)),
    Case("Is there anything overdue?", NY, listing(overdue=True)),
    Case("show me the urgent stuff", NY, listing(status="open", priority=["urgent"])),
    Case(
        "list what's due by the end of the week",
        NY,
        listing(status="open", due_before="2026-12-05T00:00:00-05:00"),
    ),
    Case("The report is finished", NY, complete("report")),
    Case("Tick the milk one off", NY_LISTED, complete("milk")),
    Case("I've done 2", NY_LISTED, complete("team")),
    Case("finish off the oat milk one", NY, complete("oat")),
    Case("delete that", NY_ONE, delete("report")),
    Case(
        "move 2 and 3 to next monday",
        NY_LISTED,
        update("team", due_date="2026-12-07") + update("dentist", due_date="2026-12-07"),
    ),
    Case(
        "change the dentist to 11am on wednesday",
        NY,
        update("dentist", due_date="2026-12-02", due_time="11:00"),
    ),
    Case(
        "can you push my dentist appointment to next week?",
        NY,
        update("dentist", due_date="2026-12-07"),
    ),
    Case("the milk one should be urgent", NY_LISTED, update("milk", priority="urgent")),
    Case("make the team meeting weekly", NY, update("team", recurrence=rec("FREQ=WEEKLY"))),
    Case("stop the plants task from repeating", NY, update("plants", recurrence=None)),
    Case("set a reminder 10 minutes before the dentist", NY, remind("dentist", minutes_before=10)),
    Case("remind me at 5pm about the rent", NY, remind("rent", at="2026-11-30T17:00:00-05:00")),
    Case("yes please do", NY_CONFIRM, confirmed=True),
    Case("no, cancel that", NY_CONFIRM, confirmed=False),
    Case("sure thing", NY_CONFIRM, confirmed=True),
    Case("absolutely not", NY_CONFIRM, confirmed=False),
    Case("please do", NY_CONFIRM, confirmed=True),
    Case(
        "remind me to water the lawn every evening at 7",
        LA,
        add(
            "water the lawn",
            due_date="2026-07-15",
            due_time="19:00",
            recurrence=rec("FREQ=DAILY"),
            reminders=before(0),
        ),
    ),
    Case("pay rent on the 1st", BERLIN, add("pay rent", due_date="2026-04-01")),
    Case(
        "dentist on the 4th at 10", TOKYO, add("dentist", due_date="2027-01-04", due_time="10:00")
    ),
    Case(
        "call grandma tomorrow afternoon",
        NY_FALL,
        add("call grandma", due_date="2026-11-01", due_time="15:00"),
    ),
    Case("book train tickets in 2 days", KOLKATA, add("book train tickets", due_date="2026-06-14")),
    Case(
        "what's due today",
        SYDNEY,
        listing(
            status="open",
            due_after="2026-10-03T00:00:00+10:00",
            due_before="2026-10-04T00:00:00+10:00",
        ),
    ),
    # === a seventh round, written before running it ======================================
    Case(
        "add a note to 2: bring the slides",
        NY_LISTED,
        update("team", description="bring the slides"),
    ),
    Case(
        "set the description of the report to Q4 numbers",
        NY,
        update("report", description="Q4 numbers"),
    ),
    Case(
        "remind me on friday at 8am about the passport",
        NY,
        remind("passport", at="2026-12-04T08:00:00-05:00"),
    ),
    Case(
        "set a reminder for the rent on the 3rd at 9am",
        NY,
        remind("rent", at="2026-12-03T09:00:00-05:00"),
    ),
    Case("lsit my tasks", NY, listing(status="open")),
    Case("show my overdue stuff", NY, listing(overdue=True)),
    Case("what did I complete?", NY, listing(status="done")),
    Case("show completed", NY, listing(status="done")),
    Case("list high and urgent tasks", NY, listing(status="open", priority=["urgent", "high"])),
    Case("clear the due date of 3", NY_LISTED, update("dentist", due_date=None, due_time=None)),
    Case("add a task due friday: send invoices", NY, add("send invoices", due_date="2026-12-04")),
    Case(
        "new reminder: call the vet friday 2pm",
        NY,
        add("call the vet", due_date="2026-12-04", due_time="14:00", reminders=before(0)),
    ),
    Case("remind me tomorrow", NY, question=True),
    Case("Buy milk!!", NY, add("Buy milk")),
    Case("call mom at 5 tomorrow", NY, add("call mom", due_date="2026-12-01", due_time="17:00")),
    Case(
        "meet at the caf\u00e9 at 10 tomorrow",
        NY,
        add("meet at the caf\u00e9", due_date="2026-12-01", due_time="10:00"),
    ),
    Case(
        "Renew passport before it expires in March",
        NY,
        add("Renew passport before it expires in March"),
    ),
    Case(
        "Go to the gym at 6 every morning",
        NY,
        add("Go to the gym", due_date="2026-12-01", due_time="06:00", recurrence=rec("FREQ=DAILY")),
    ),
    Case(
        "yoga at 7 in the morning every tuesday",
        NY,
        add(
            "yoga", due_date="2026-12-01", due_time="07:00", recurrence=rec("FREQ=WEEKLY;BYDAY=TU")
        ),
    ),
    Case("mark 3 as high priority", NY_LISTED, update("dentist", priority="high")),
    Case("delete everything", NY, listing(status="open"), for_each=each("delete_task")),
    Case("wake up at 7 tomorrow", BERLIN, add("wake up", due_date="2026-03-29", due_time="07:00")),
    Case(
        "what's due today",
        NY_FALL,
        listing(
            status="open",
            due_after="2026-10-31T00:00:00-04:00",
            due_before="2026-11-01T00:00:00-04:00",
        ),
    ),
    Case("pay rent on the 29th", UTC, add("pay rent", due_date="2026-03-29")),
    Case(
        "what's due tomorrow morning",
        LA,
        listing(
            status="open",
            due_after="2026-07-16T00:00:00-07:00",
            due_before="2026-07-16T12:00:00-07:00",
        ),
    ),
)
