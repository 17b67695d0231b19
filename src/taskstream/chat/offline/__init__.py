"""The offline planner: a hand-written grammar from a chat message to a `Plan`.

No network, no model, no I/O: the same message in the same `PlanContext` always gives
the same plan. The clock and the user's time zone come from the context; dates and
times are the user's wall clock.

Pieces: `lexer` (tokens with spans, whole words, typo fixes), `dates` (days, times,
offsets), `recurrence` (RRULEs), `slots` (one pass that claims dates, rules,
priorities, tags and reminders, leaving the title), `references` (which task "the
milk one" is), `conversation` (yes/no, greetings, polite padding), `listing` (filters
and sets of tasks), `arguments` (slots to tool arguments) and `intents` (which tool).

Conventions (what an ambiguous phrase is taken to mean):

- Times of day: "morning" 09:00, "noon" 12:00, "afternoon" 15:00, "evening" 18:00,
  "tonight"/"night" 20:00, "end of day"/"eod" today (all-day). A bare hour is
  afternoon from 1 to 6 ("at 5" = 17:00) and morning from 7 to 11 ("at 9" = 09:00);
  "5:30" follows the same rule, "05:30" and "17:30" are taken as written.
- A time without a day is today if it is still ahead, else tomorrow; "this evening"
  is today even when past. A day without a time is an all-day due date ("tomorrow"
  → due_date only).
- "Friday" is the next Friday after today; "this Friday" may be today; "next Friday"
  is the Friday of next week (Monday-based weeks). "next week" is next Monday,
  "this weekend" Saturday, "next month" its 1st, "end of week" Friday, "end of month"
  its last day. "the 5th" is the next 5th on or after today (skipping months without
  one); "Dec 5" the next such date. Short day names ("sat", "wed") count after "on",
  "by", "next", "every" or before a time or at the end of the message.
- "in 2 hours" / "in 30 minutes" is that much later on the real time line (right across
  a daylight-saving change), read on the user's wall clock; "in 3 days" is a date.
- Recurrence: the series starts on its first occurrence on or after today (after now
  when a time is given) unless a start is given ("starting Monday"); an interval
  counts from there ("every 3 months on the 15th" starts on the next 15th). "every
  morning" is daily at 09:00. "after I finish it" anchors the series on completion.
  A bare "daily", "weekly", "monthly" before a title word is part of the title
  ("Create monthly report"); a change to a task's rule alone leaves its due as it is.
  Several day names without "every" repeat weekly ("gym mon wed fri at 7am").
- Words that read as part of a title stay in it: a date word after "the"/"a" ("the
  Monday meeting", "the 8pm show"), or a bare day name followed by a title word
  ("Sunday school"). Quoted text is the title, verbatim.
- Priorities: p1 = urgent, p2 = high, p3 = medium, p4 = low; "urgent", "asap" and
  "important" (= high) count only where they stand apart from the title (at an edge of
  the message or next to punctuation).
- Tags are lower-cased; in a change they replace the task's tags. "remind me to X at
  T" adds a reminder at the due time (minutes_before 0); with only a day, at 09:00
  that day; with no day, none.
- Listings show open tasks unless done ones are asked for; "overdue" needs no status.
  Day windows run from midnight to midnight in the user's zone (due_after inclusive,
  due_before exclusive); "this week" is Monday to Monday; "morning" ends at 12:00,
  "afternoon" at 17:00, "tonight" runs from 17:00; "important" means urgent or high;
  "what's next?" is the one open task due soonest. A set of tasks ("all overdue
  tasks", "my morning meetings") becomes a `list_tasks` call and a `for_each` call;
  plural words become a singular `text` filter ("meetings" → "meeting").
- Numbers and ordinals refer to the last listing ("1 and 3" to both); words to titles
  ("the team meeting and the dentist appointment" to both, when each part is a title),
  the last listing first; with one task listed, "it" or nothing ("Done!") is that
  task. A reference that fits several tasks gets a question, one that fits none a
  reply; but a command word before something that is no task and is not introduced
  as one ("Delete old emails", not "delete the old emails") starts a new task.
"""

from __future__ import annotations

import logging

from taskstream.chat.offline.conversation import HELP
from taskstream.chat.offline.intents import plan_message
from taskstream.chat.plan import Plan, PlanContext

logger = logging.getLogger(__name__)


class OfflinePlanner:
    """The default planner: deterministic, offline, fast."""

    async def plan(self, message: str, context: PlanContext) -> Plan:
        return plan(message, context)


def plan(message: str, context: PlanContext) -> Plan:
    """The plan for `message` (synchronous; `OfflinePlanner.plan` awaits nothing)."""
    try:
        return plan_message(message, context)
    except (ValueError, OverflowError):
        # A date the grammar read but the calendar refuses ("in 999999 years").
        return Plan(reply="Sorry, I couldn't make sense of that date. " + HELP)
    except Exception:  # a gap in the grammar must not become an error for the user
        logger.exception("offline planner failed on a message of %d characters", len(message))
        return Plan(reply="Sorry, I couldn't make sense of that. " + HELP)


__all__ = ["OfflinePlanner", "plan"]
