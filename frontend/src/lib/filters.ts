// The list's view (filters, search, sort) lives in the URL's query string, so a view can
// be bookmarked, shared and survives a reload.
import type { Priority } from "./api";
import type { paths } from "@/api/schema";

export type SortKey = "due" | "priority" | "created" | "updated" | "title";
export type StatusFilter = "open" | "done" | "all";

export type Filters = {
  status: StatusFilter;
  priority: Priority[];
  tags: string[];
  from: string;
  to: string;
  overdue: boolean;
  q: string;
  sort: SortKey;
  order: "asc" | "desc";
};

export const DEFAULT_FILTERS: Filters = {
  status: "open",
  priority: [],
  tags: [],
  from: "",
  to: "",
  overdue: false,
  q: "",
  sort: "due",
  order: "asc",
};

const PRIORITIES: Priority[] = ["urgent", "high", "medium", "low", "none"];
const SORTS: SortKey[] = ["due", "priority", "created", "updated", "title"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseFilters(search: string): Filters {
  const p = new URLSearchParams(search);
  const status = p.get("status");
  const sort = p.get("sort") as SortKey | null;
  return {
    status: status === "done" || status === "all" ? status : "open",
    priority: p.getAll("priority").filter((x): x is Priority => PRIORITIES.includes(x as Priority)),
    tags: p.getAll("tag").filter(Boolean),
    from: DATE.test(p.get("from") ?? "") ? p.get("from")! : "",
    to: DATE.test(p.get("to") ?? "") ? p.get("to")! : "",
    overdue: p.get("overdue") === "1",
    q: p.get("q") ?? "",
    sort: sort && SORTS.includes(sort) ? sort : "due",
    order: p.get("order") === "desc" ? "desc" : "asc",
  };
}

export function filtersToSearch(f: Filters): string {
  const p = new URLSearchParams();
  if (f.status !== "open") p.set("status", f.status);
  f.priority.forEach((x) => p.append("priority", x));
  f.tags.forEach((x) => p.append("tag", x));
  if (f.from) p.set("from", f.from);
  if (f.to) p.set("to", f.to);
  if (f.overdue) p.set("overdue", "1");
  if (f.q) p.set("q", f.q);
  if (f.sort !== "due") p.set("sort", f.sort);
  if (f.order !== "asc") p.set("order", f.order);
  const text = p.toString();
  return text ? `?${text}` : "";
}

export function isFiltered(f: Filters): boolean {
  return !!(f.priority.length || f.tags.length || f.from || f.to || f.overdue || f.q);
}

type ListQuery = NonNullable<paths["/api/v1/tasks"]["get"]["parameters"]["query"]>;

/** The API query of a view; date bounds are whole days in the user's time zone. */
export function toQuery(f: Filters, timeZone: string): ListQuery {
  const query: ListQuery = { sort: f.sort, order: f.order, limit: 100 };
  if (f.status !== "all") query.status = f.status;
  if (f.priority.length) query.priority = f.priority;
  if (f.tags.length) query.tags_all = f.tags;
  if (f.from) query.due_after = zonedMidnight(f.from, timeZone, 0);
  if (f.to) query.due_before = zonedMidnight(f.to, timeZone, 1);
  if (f.overdue) query.overdue = true;
  if (f.q.trim()) query.q = f.q.trim();
  return query;
}

/** Midnight starting `date` + `plusDays` in `timeZone`, as an ISO moment. */
export function zonedMidnight(date: string, timeZone: string, plusDays: number): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + plusDays);
  return zonedToUtc(day.toISOString().slice(0, 19), timeZone).toISOString();
}

/** The moment a wall-clock time ("2026-12-01T09:00[:00]") in `timeZone` stands for. */
export function zonedToUtc(local: string, timeZone: string): Date {
  const guess = Date.parse(`${local.length === 16 ? `${local}:00` : local}Z`);
  const offset = (at: number) => {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(at));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - at;
  };
  const first = guess - offset(guess);
  return new Date(guess - offset(first));
}

/** A moment as a wall-clock "YYYY-MM-DDTHH:MM:SS" in `timeZone` (for datetime inputs). */
export function utcToZoned(moment: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(moment);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}:${get("second")}`;
}
