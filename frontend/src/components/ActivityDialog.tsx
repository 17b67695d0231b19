"use client";

import { useEffect, useState } from "react";
import { api, type Activity, type Task } from "@/lib/api";
import { ago } from "@/lib/format";
import { Dialog } from "./Dialog";

const WHAT: Record<string, string> = {
  "task.created": "Created",
  "task.updated": "Changed",
  "task.completed": "Completed",
  "task.reopened": "Reopened",
  "task.deleted": "Deleted",
  "reminder.due": "Reminder fired",
};

function changes(entry: Activity): string | null {
  const changed = entry.data.changes;
  if (entry.type !== "task.updated" || !changed || typeof changed !== "object") return null;
  const names = Array.isArray(changed) ? changed : Object.keys(changed);
  return names.length ? names.map((n) => String(n).replace(/_/g, " ")).join(", ") : null;
}

export function ActivityDialog({ task, onClose }: { task: Task | null; onClose: () => void }) {
  return (
    <Dialog open={!!task} onClose={onClose} title={task ? `History · ${task.title}` : "History"}>
      {task && <History task={task} />}
    </Dialog>
  );
}

function History({ task }: { task: Task }) {
  const [entries, setEntries] = useState<Activity[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    api
      .GET("/api/v1/activity", { params: { query: { task_id: task.id, limit: 100 } } })
      .then(({ data }) => {
        if (!live) return;
        if (data) setEntries(data.data);
        else setFailed(true);
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [task.id, task.version]);

  if (failed) return <p className="px-5 py-6 text-sm text-red-700 dark:text-red-400">The history could not be loaded.</p>;
  if (!entries) return <p className="px-5 py-6 text-sm text-slate-500">Loading…</p>;
  if (!entries.length)
    return <p className="px-5 py-6 text-sm text-slate-600 dark:text-slate-400">Nothing recorded yet: the history appears within a moment of a change.</p>;
  return (
    <ol className="space-y-0 px-5 py-4" data-testid="activity">
      {entries.map((entry) => (
        <li key={entry.id} className="relative border-l-2 border-slate-200 pb-4 pl-4 last:pb-0 dark:border-slate-700">
          <span className="absolute -left-[5px] top-1.5 h-2 w-2 rounded-full bg-indigo-500" aria-hidden="true" />
          <p className="text-sm font-medium">{WHAT[entry.type] ?? entry.type}</p>
          {changes(entry) && <p className="text-sm text-slate-600 dark:text-slate-400">{changes(entry)}</p>}
          <p className="text-xs text-slate-500 dark:text-slate-400">
            <time dateTime={entry.time} title={new Date(entry.time).toLocaleString()}>
              {ago(entry.time)}
            </time>
          </p>
        </li>
      ))}
    </ol>
  );
}
