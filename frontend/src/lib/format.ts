// Dates as people say them, in the user's time zone: "today 9:00", "tomorrow",
// "3 days overdue".
import type { Task } from "./api";

const DAY = 86_400_000;

function dayNumber(moment: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(moment);
  return Math.round(Date.parse(`${parts}T00:00:00Z`) / DAY);
}

function clock(moment: Date, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "numeric", minute: "2-digit" }).format(moment);
}

export type Due = { text: string; overdue: boolean; soon: boolean; exact: string };

export function relativeDue(task: Task, timeZone: string, now = new Date()): Due | null {
  if (!task.due_at) return null;
  const due = new Date(task.due_at);
  const zone = task.timezone || timeZone;
  // An all-day task's due_at is the end of its day: count from its date instead.
  const dueDay = task.due_date ? Math.round(Date.parse(`${task.due_date}T00:00:00Z`) / DAY) : dayNumber(due, zone);
  const days = dueDay - dayNumber(now, zone);
  const time = task.due_time ? ` ${clock(due, zone)}` : "";
  const exact = task.due_time
    ? new Intl.DateTimeFormat("en-GB", { timeZone: zone, dateStyle: "full", timeStyle: "short" }).format(due)
    : new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", dateStyle: "full" }).format(new Date(dueDay * DAY));
  const overdue = task.status === "open" && task.overdue;
  if (overdue) {
    const late = -days;
    if (late >= 1) return { text: `${late} day${late === 1 ? "" : "s"} overdue`, overdue, soon: false, exact };
    return { text: `overdue since${time || " today"}`, overdue, soon: false, exact };
  }
  const shown = task.due_time ? due : new Date(dueDay * DAY + 12 * 3_600_000);
  const labelZone = task.due_time ? zone : "UTC";
  let text: string;
  if (days === 0) text = `today${time}`;
  else if (days === 1) text = `tomorrow${time}`;
  else if (days === -1) text = `yesterday${time}`;
  else if (days > 1 && days < 7)
    text = new Intl.DateTimeFormat("en-GB", { timeZone: labelZone, weekday: "long" }).format(shown) + time;
  else if (days > 0 && days < 300)
    text = new Intl.DateTimeFormat("en-GB", { timeZone: labelZone, day: "numeric", month: "short" }).format(shown) + time;
  else
    text =
      new Intl.DateTimeFormat("en-GB", { timeZone: labelZone, day: "numeric", month: "short", year: "numeric" }).format(shown) +
      time;
  return { text, overdue: false, soon: days <= 1 && days >= 0, exact };
}

export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  return `${days} day${days === 1 ? "" : "s"} ago`;
}

const WEEKDAYS: Record<string, string> = { MO: "Mon", TU: "Tue", WE: "Wed", TH: "Thu", FR: "Fri", SA: "Sat", SU: "Sun" };

/** A recurrence rule in words: "daily", "weekdays", "weekly on Mon, Wed", ... */
export function describeRule(rule: string): string {
  const parts = Object.fromEntries(rule.split(";").map((p) => p.split("=") as [string, string]));
  const interval = Number(parts.INTERVAL ?? "1");
  const every = (unit: string) => (interval > 1 ? `every ${interval} ${unit}s` : `${unit}ly`.replace("dayly", "daily"));
  switch (parts.FREQ) {
    case "DAILY":
      return every("day");
    case "WEEKLY": {
      const days = (parts.BYDAY ?? "").split(",").filter(Boolean);
      if (days.join(",") === "MO,TU,WE,TH,FR") return "weekdays";
      const base = every("week");
      return days.length ? `${base} on ${days.map((d) => WEEKDAYS[d] ?? d).join(", ")}` : base;
    }
    case "MONTHLY":
      return every("month");
    case "YEARLY":
      return interval > 1 ? `every ${interval} years` : "yearly";
    default:
      return rule;
  }
}
