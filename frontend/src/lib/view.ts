// Applying a live change to the list at once, before the authoritative reload: the
// task the event carries goes where the server's sort would put it, if the view's
// filters let it in (a text search waits for the reload).
import type { Priority, Task } from "./api";
import type { Filters } from "./filters";
import { zonedMidnight } from "./filters";

const RANK: Record<Priority, number> = { none: 0, low: 1, medium: 2, high: 3, urgent: 4 };

export function fromEvent(data: Record<string, unknown>, now = Date.now()): Task | null {
  if (typeof data.id !== "string" || typeof data.title !== "string") return null;
  const task = data as unknown as Task;
  const overdue = task.status === "open" && !!task.due_at && Date.parse(task.due_at) < now;
  return { ...task, overdue };
}

export function admits(task: Task, f: Filters, timeZone: string): boolean | null {
  if (f.q.trim()) return null; // full-text matching is the server's
  if (f.status !== "all" && task.status !== f.status) return false;
  if (f.priority.length && !f.priority.includes(task.priority)) return false;
  if (f.tags.some((t) => !task.tags.includes(t))) return false;
  if (f.overdue && !task.overdue) return false;
  const due = task.due_at ? Date.parse(task.due_at) : null;
  if (f.from && (due === null || due < Date.parse(zonedMidnight(f.from, timeZone, 0)))) return false;
  if (f.to && (due === null || due >= Date.parse(zonedMidnight(f.to, timeZone, 1)))) return false;
  return true;
}

function key(task: Task, f: Filters): number | string | null {
  switch (f.sort) {
    case "due":
      return task.due_at ? Date.parse(task.due_at) : null;
    case "priority":
      return RANK[task.priority];
    case "created":
      return Date.parse(task.created_at);
    case "updated":
      return Date.parse(task.updated_at);
    case "title":
      return task.title.toLowerCase();
  }
}

function compare(a: Task, b: Task, f: Filters): number {
  const x = key(a, f);
  const y = key(b, f);
  if (x === y) return 0;
  if (x === null) return 1; // empty last
  if (y === null) return -1;
  const order = x < y ? -1 : 1;
  return f.order === "asc" ? order : -order;
}

/** The list with `task` put in (or taken out of) its place; null when unsure. */
export function patched(list: Task[], task: Task, f: Filters, timeZone: string, deleted: boolean): Task[] | null {
  const rest = list.filter((t) => t.id !== task.id);
  if (deleted) return rest;
  const admitted = admits(task, f, timeZone);
  if (admitted === null) return null;
  if (!admitted) return rest;
  const at = rest.findIndex((t) => compare(task, t, f) < 0);
  return at === -1 ? [...rest, task] : [...rest.slice(0, at), task, ...rest.slice(at)];
}
