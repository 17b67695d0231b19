"use client";

import type { Priority, Task } from "@/lib/api";
import { describeRule, relativeDue } from "@/lib/format";

const PRIORITY: Record<Priority, { label: string; className: string; mark: string } | null> = {
  none: null,
  low: { label: "Low", mark: "▽", className: "bg-sky-50 text-sky-800 ring-sky-600/20 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-400/30" },
  medium: { label: "Medium", mark: "◆", className: "bg-amber-50 text-amber-900 ring-amber-600/25 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-400/30" },
  high: { label: "High", mark: "▲", className: "bg-orange-100 text-orange-900 ring-orange-600/25 dark:bg-orange-950 dark:text-orange-200 dark:ring-orange-400/30" },
  urgent: { label: "Urgent", mark: "‼", className: "bg-red-100 text-red-800 ring-red-600/25 dark:bg-red-950 dark:text-red-200 dark:ring-red-400/40" },
};

export function PriorityBadge({ priority }: { priority: Priority }) {
  const look = PRIORITY[priority];
  if (!look) return null;
  return (
    <span
      className={`inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset ${look.className}`}
      title={`${look.label} priority`}
    >
      <span aria-hidden="true">{look.mark}</span>
      {look.label}
      <span className="sr-only"> priority</span>
    </span>
  );
}

export function TaskItem({
  task,
  timeZone,
  onToggle,
  onEdit,
  onDelete,
  onHistory,
  onTag,
}: {
  task: Task;
  timeZone: string;
  onToggle: (task: Task) => void;
  onEdit: (task: Task) => void;
  onDelete: (task: Task) => void;
  onHistory: (task: Task) => void;
  onTag: (tag: string) => void;
}) {
  const due = relativeDue(task, timeZone);
  const done = task.status === "done";
  const reminders = task.reminders.filter((r) => r.remind_at);
  return (
    <li
      data-testid="task"
      data-task-id={task.id}
      className="group flex items-start gap-3 px-4 py-3 transition-colors hover:bg-slate-50 dark:hover:bg-slate-800/50"
    >
      <button
        type="button"
        onClick={() => onToggle(task)}
        aria-label={done ? `Mark “${task.title}” as not done` : `Complete “${task.title}”`}
        aria-pressed={done}
        className={`mt-0.5 flex h-5 w-5 shrink-0 items-center justify-center rounded-full border-2 transition ${
          done
            ? "border-emerald-600 bg-emerald-600 text-white"
            : "border-slate-400 text-transparent hover:border-emerald-600 hover:text-emerald-600 dark:border-slate-500"
        }`}
      >
        <svg viewBox="0 0 16 16" className="h-3 w-3" aria-hidden="true">
          <path d="M3.5 8.5l3 3 6-7" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      </button>
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
          <button
            type="button"
            onClick={() => onEdit(task)}
            className={`text-left text-[15px] font-medium leading-snug hover:underline ${done ? "text-slate-500 line-through dark:text-slate-400" : ""}`}
          >
            {task.title}
          </button>
          <PriorityBadge priority={task.priority} />
        </div>
        {task.description && (
          <p className="mt-0.5 line-clamp-1 text-sm text-slate-600 dark:text-slate-400">{task.description}</p>
        )}
        <div className="mt-1.5 flex flex-wrap items-center gap-x-3 gap-y-1.5 text-xs text-slate-600 dark:text-slate-400">
          {due && (
            <span
              title={due.exact}
              data-testid="due"
              className={`inline-flex items-center gap-1 ${
                due.overdue ? "font-semibold text-red-700 dark:text-red-400" : due.soon ? "font-medium text-indigo-700 dark:text-indigo-300" : ""
              }`}
            >
              <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" aria-hidden="true">
                <rect x="2" y="3" width="12" height="11" rx="2" fill="none" stroke="currentColor" strokeWidth="1.4" />
                <path d="M2 6.5h12M5 1.5v3M11 1.5v3" stroke="currentColor" strokeWidth="1.4" />
              </svg>
              <span className="sr-only">Due </span>
              {due.text}
            </span>
          )}
          {task.recurrence && (
            <span className="inline-flex items-center gap-1" title={`Repeats ${describeRule(task.recurrence.rule)}${task.recurrence.anchor === "completion" ? ", from completion" : ""}`}>
              <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" aria-hidden="true">
                <path d="M13 6a5 5 0 00-9-1.5M3 10a5 5 0 009 1.5M4 1.5v3h3M12 14.5v-3H9" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
              </svg>
              <span>
                <span className="sr-only">Repeats </span>
                {describeRule(task.recurrence.rule)}
              </span>
            </span>
          )}
          {reminders.length > 0 && (
            <span className="inline-flex items-center gap-1" title={reminders.map((r) => new Date(r.remind_at!).toLocaleString()).join(", ")}>
              <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" aria-hidden="true">
                <path d="M8 2a4 4 0 014 4v3l1.5 2h-11L4 9V6a4 4 0 014-4zM6.5 13a1.5 1.5 0 003 0" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinejoin="round" />
              </svg>
              <span>
                {reminders.length} reminder{reminders.length === 1 ? "" : "s"}
              </span>
            </span>
          )}
          {task.tags.map((tag) => (
            <button
              type="button"
              key={tag}
              onClick={() => onTag(tag)}
              aria-label={`Show tasks tagged ${tag}`}
              className="rounded-full bg-slate-100 px-2 py-0.5 font-medium text-slate-700 hover:bg-slate-200 dark:bg-slate-800 dark:text-slate-300 dark:hover:bg-slate-700"
            >
              #{tag}
            </button>
          ))}
        </div>
      </div>
      <div className="flex shrink-0 items-center gap-0.5 opacity-100 sm:opacity-0 sm:group-focus-within:opacity-100 sm:group-hover:opacity-100">
        <IconButton label={`History of “${task.title}”`} onClick={() => onHistory(task)}>
          <path d="M8 4.5V8l2.5 1.5M2.5 8a5.5 5.5 0 101.6-3.9M2 2v3h3" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round" />
        </IconButton>
        <IconButton label={`Edit “${task.title}”`} onClick={() => onEdit(task)}>
          <path d="M10.5 2.5l3 3L6 13H3v-3l7.5-7.5z" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinejoin="round" />
        </IconButton>
        <IconButton label={`Delete “${task.title}”`} onClick={() => onDelete(task)}>
          <path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 9h5.6l.7-9" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinejoin="round" />
        </IconButton>
      </div>
    </li>
  );
}

export function IconButton({
  label,
  onClick,
  children,
  className = "",
}: {
  label: string;
  onClick: () => void;
  children: React.ReactNode;
  className?: string;
}) {
  return (
    <button
      type="button"
      onClick={onClick}
      aria-label={label}
      title={label}
      className={`rounded-md p-1.5 text-slate-500 hover:bg-slate-200/70 hover:text-slate-800 dark:text-slate-400 dark:hover:bg-slate-700 dark:hover:text-slate-100 ${className}`}
    >
      <svg viewBox="0 0 16 16" className="h-4 w-4" aria-hidden="true">
        {children}
      </svg>
    </button>
  );
}
