"use client";

import { useId, useState } from "react";
import { api, fieldErrors, problemMessage, type Priority, type Tag, type Task, type TaskCreate, type TaskUpdate } from "@/lib/api";
import { utcToZoned, zonedToUtc } from "@/lib/filters";
import { Field, inputClass } from "./AuthForm";
import { Dialog } from "./Dialog";

type Repeat = "none" | "daily" | "weekdays" | "weekly" | "monthly" | "yearly" | "custom";
type ReminderDraft = { kind: "before"; minutes: number } | { kind: "at"; at: string };

const DAYS = [
  ["MO", "Mon"],
  ["TU", "Tue"],
  ["WE", "Wed"],
  ["TH", "Thu"],
  ["FR", "Fri"],
  ["SA", "Sat"],
  ["SU", "Sun"],
] as const;
const BEFORE = [
  [0, "At the due time"],
  [5, "5 minutes before"],
  [10, "10 minutes before"],
  [15, "15 minutes before"],
  [30, "30 minutes before"],
  [60, "1 hour before"],
  [120, "2 hours before"],
  [1440, "1 day before"],
  [10080, "1 week before"],
] as const;

const inlineInput = inputClass.replace("block w-full", "inline-block w-auto");

function repeatOf(rule: string | undefined): { repeat: Repeat; days: string[] } {
  if (!rule) return { repeat: "none", days: [] };
  if (rule === "FREQ=DAILY") return { repeat: "daily", days: [] };
  if (rule === "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR") return { repeat: "weekdays", days: [] };
  const weekly = /^FREQ=WEEKLY(?:;BYDAY=([A-Z,]+))?$/.exec(rule);
  if (weekly) return { repeat: "weekly", days: weekly[1]?.split(",") ?? [] };
  if (rule === "FREQ=MONTHLY") return { repeat: "monthly", days: [] };
  if (rule === "FREQ=YEARLY") return { repeat: "yearly", days: [] };
  return { repeat: "custom", days: [] };
}

function ruleOf(repeat: Repeat, days: string[], custom: string): string | null {
  switch (repeat) {
    case "none":
      return null;
    case "daily":
      return "FREQ=DAILY";
    case "weekdays":
      return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR";
    case "weekly":
      return days.length ? `FREQ=WEEKLY;BYDAY=${DAYS.map(([d]) => d).filter((d) => days.includes(d)).join(",")}` : "FREQ=WEEKLY";
    case "monthly":
      return "FREQ=MONTHLY";
    case "yearly":
      return "FREQ=YEARLY";
    case "custom":
      return custom.trim().replace(/^RRULE:/i, "");
  }
}

export function TaskDialog({
  task,
  open,
  timeZone,
  tags,
  onClose,
  onSaved,
}: {
  task: Task | null;
  open: boolean;
  timeZone: string;
  tags: Tag[];
  onClose: () => void;
  onSaved: (task: Task) => void;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={task ? "Edit task" : "New task"} wide>
      {open && <TaskForm key={task?.id ?? "new"} task={task} timeZone={timeZone} tags={tags} onClose={onClose} onSaved={onSaved} />}
    </Dialog>
  );
}

function TaskForm({
  task,
  timeZone,
  tags: knownTags,
  onClose,
  onSaved,
}: {
  task: Task | null;
  timeZone: string;
  tags: Tag[];
  onClose: () => void;
  onSaved: (task: Task) => void;
}) {
  const zone = task?.timezone || timeZone;
  const initialRepeat = repeatOf(task?.recurrence?.rule);
  const [title, setTitle] = useState(task?.title ?? "");
  const [description, setDescription] = useState(task?.description ?? "");
  const [priority, setPriority] = useState<Priority>(task?.priority ?? "none");
  const [tags, setTags] = useState<string[]>(task?.tags ?? []);
  const [tagInput, setTagInput] = useState("");
  const [dueDate, setDueDate] = useState(task?.due_date ?? "");
  const [dueTime, setDueTime] = useState(task?.due_time?.slice(0, 5) ?? "");
  const [reminders, setReminders] = useState<ReminderDraft[]>(
    task?.reminders.map((r) =>
      r.minutes_before !== null && r.minutes_before !== undefined
        ? { kind: "before", minutes: r.minutes_before }
        : { kind: "at", at: r.at ? utcToZoned(new Date(r.at), zone) : "" },
    ) ?? [],
  );
  const [repeat, setRepeat] = useState<Repeat>(initialRepeat.repeat);
  const [days, setDays] = useState<string[]>(initialRepeat.days);
  const [customRule, setCustomRule] = useState(initialRepeat.repeat === "custom" ? (task?.recurrence?.rule ?? "") : "");
  const [anchor, setAnchor] = useState<"due" | "completion">(task?.recurrence?.anchor ?? "due");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = useId();

  function addTag(raw: string) {
    const tag = raw.trim().replace(/^#/, "").toLowerCase();
    if (tag && !tags.includes(tag)) setTags([...tags, tag]);
    setTagInput("");
  }

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const pendingTag = tagInput.trim();
    const allTags = pendingTag ? [...tags, pendingTag.replace(/^#/, "").toLowerCase()] : tags;
    if (!title.trim()) {
      setErrors({ title: "A title is required." });
      return;
    }
    const rule = ruleOf(repeat, days, customRule);
    const body: TaskCreate = {
      title: title.trim(),
      description,
      priority,
      tags: allTags,
      due_date: dueDate || null,
      due_time: dueDate && dueTime ? `${dueTime}:00` : null,
      reminders: reminders.map((r) =>
        r.kind === "before" ? { minutes_before: r.minutes } : { at: r.at ? zonedToUtc(r.at, zone).toISOString() : null },
      ),
      recurrence: rule === null ? null : { rule, anchor },
    };
    setBusy(true);
    setErrors({});
    setMessage(null);
    try {
      const result = task
        ? await api.PATCH("/api/v1/tasks/{task_id}", {
            params: { path: { task_id: task.id }, header: { "if-match": `"${task.version}"` } },
            body: body as TaskUpdate, // the same fields; the time zone is left as it is
          })
        : await api.POST("/api/v1/tasks", { body });
      if (result.error || !result.data) {
        const found = fieldErrors(result.error);
        setErrors(found);
        if (result.response.status === 412) setMessage("This task was changed elsewhere meanwhile: close and open it again.");
        else if (!Object.keys(found).length) setMessage(problemMessage(result.error));
        return;
      }
      onSaved(result.data);
    } catch {
      setMessage("The server does not answer. Your changes are still here: try again.");
    } finally {
      setBusy(false);
    }
  }

  const describedBy = (name: string) => (errors[name] ? `${ids}-${name}-error` : undefined);
  const suggestions = knownTags.filter((t) => !tags.includes(t.name));

  return (
    <form onSubmit={submit} noValidate className="space-y-4 px-5 py-4">
      <Field label="Title" id={`${ids}-title`} error={errors.title}>
        <input
          id={`${ids}-title`}
          name="title"
          data-autofocus
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          aria-invalid={!!errors.title}
          aria-describedby={describedBy("title")}
          className={inputClass}
          placeholder="What needs doing?"
        />
      </Field>
      <Field label="Description" id={`${ids}-description`} error={errors.description}>
        <textarea
          id={`${ids}-description`}
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          aria-invalid={!!errors.description}
          className={inputClass}
        />
      </Field>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Priority" id={`${ids}-priority`} error={errors.priority}>
          <select id={`${ids}-priority`} value={priority} onChange={(e) => setPriority(e.target.value as Priority)} className={inputClass}>
            <option value="none">None</option>
            <option value="low">Low</option>
            <option value="medium">Medium</option>
            <option value="high">High</option>
            <option value="urgent">Urgent</option>
          </select>
        </Field>
        <Field label="Tags" id={`${ids}-tags`} error={errors.tags} hint="Press Enter or comma to add a tag.">
          <div className="flex flex-wrap gap-1.5 rounded-lg border border-slate-300 bg-white px-2 py-1.5 focus-within:border-indigo-500 focus-within:ring-2 focus-within:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-950">
            {tags.map((tag) => (
              <span key={tag} className="inline-flex items-center gap-0.5 rounded-full bg-slate-100 py-0.5 pl-2 pr-0.5 text-xs font-medium dark:bg-slate-800">
                #{tag}
                <button type="button" aria-label={`Remove tag ${tag}`} onClick={() => setTags(tags.filter((t) => t !== tag))} className="rounded-full px-1 hover:bg-slate-200 dark:hover:bg-slate-700">
                  ×
                </button>
              </span>
            ))}
            <input
              id={`${ids}-tags`}
              list={`${ids}-tag-list`}
              value={tagInput}
              onChange={(e) => {
                const value = e.target.value;
                if (value.endsWith(",")) addTag(value.slice(0, -1));
                else setTagInput(value);
              }}
              onKeyDown={(e) => {
                if (e.key === "Enter" && tagInput.trim()) {
                  e.preventDefault();
                  addTag(tagInput);
                } else if (e.key === "Backspace" && !tagInput && tags.length) setTags(tags.slice(0, -1));
              }}
              aria-invalid={!!errors.tags}
              aria-describedby={describedBy("tags")}
              className="min-w-24 flex-1 bg-transparent text-sm outline-none"
              placeholder={tags.length ? "" : "work, home…"}
            />
            <datalist id={`${ids}-tag-list`}>
              {suggestions.map((t) => (
                <option key={t.name} value={t.name} />
              ))}
            </datalist>
          </div>
        </Field>
      </div>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Due date" id={`${ids}-due-date`} error={errors.due_date}>
          <input id={`${ids}-due-date`} type="date" value={dueDate} onChange={(e) => setDueDate(e.target.value)} aria-invalid={!!errors.due_date} aria-describedby={describedBy("due_date")} className={inputClass} />
        </Field>
        <Field label="Due time" id={`${ids}-due-time`} error={errors.due_time} hint={`Empty for all day · ${zone}`}>
          <input id={`${ids}-due-time`} type="time" value={dueTime} onChange={(e) => setDueTime(e.target.value)} aria-invalid={!!errors.due_time} aria-describedby={describedBy("due_time")} className={inputClass} />
        </Field>
      </div>

      <fieldset className="space-y-2">
        <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">Reminders</legend>
        {reminders.map((reminder, index) => (
          <div key={index} className="flex flex-wrap items-center gap-2">
            <label className="sr-only" htmlFor={`${ids}-rkind-${index}`}>
              Reminder {index + 1} kind
            </label>
            <select
              id={`${ids}-rkind-${index}`}
              value={reminder.kind}
              onChange={(e) =>
                setReminders(reminders.map((r, i) => (i !== index ? r : e.target.value === "at" ? { kind: "at", at: "" } : { kind: "before", minutes: 15 })))
              }
              className={inlineInput}
            >
              <option value="before">Before due</option>
              <option value="at">At a moment</option>
            </select>
            {reminder.kind === "before" ? (
              <>
                <label className="sr-only" htmlFor={`${ids}-rmin-${index}`}>
                  Reminder {index + 1}: how long before
                </label>
                <select
                  id={`${ids}-rmin-${index}`}
                  value={reminder.minutes}
                  onChange={(e) => setReminders(reminders.map((r, i) => (i === index ? { kind: "before", minutes: Number(e.target.value) } : r)))}
                  className={inlineInput}
                >
                  {BEFORE.map(([minutes, label]) => (
                    <option key={minutes} value={minutes}>
                      {label}
                    </option>
                  ))}
                  {!BEFORE.some(([m]) => m === reminder.minutes) && <option value={reminder.minutes}>{reminder.minutes} minutes before</option>}
                </select>
              </>
            ) : (
              <>
                <label className="sr-only" htmlFor={`${ids}-rat-${index}`}>
                  Reminder {index + 1}: when
                </label>
                <input
                  id={`${ids}-rat-${index}`}
                  type="datetime-local"
                  step={1}
                  value={reminder.at}
                  onChange={(e) => setReminders(reminders.map((r, i) => (i === index ? { kind: "at", at: e.target.value } : r)))}
                  className={inlineInput}
                />
              </>
            )}
            <button
              type="button"
              onClick={() => setReminders(reminders.filter((_, i) => i !== index))}
              aria-label={`Remove reminder ${index + 1}`}
              className="rounded-md px-2 py-1 text-sm text-slate-600 hover:bg-slate-100 dark:text-slate-400 dark:hover:bg-slate-800"
            >
              Remove
            </button>
          </div>
        ))}
        {errors.reminders && (
          <p id={`${ids}-reminders-error`} className="text-sm text-red-700 dark:text-red-400">
            {errors.reminders}
          </p>
        )}
        <button
          type="button"
          onClick={() => setReminders([...reminders, dueDate ? { kind: "before", minutes: 15 } : { kind: "at", at: "" }])}
          className="text-sm font-medium text-indigo-700 hover:underline dark:text-indigo-300"
        >
          + Add a reminder
        </button>
      </fieldset>

      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Repeat" id={`${ids}-repeat`} error={repeat === "custom" ? undefined : errors.recurrence}>
          <select
            id={`${ids}-repeat`}
            value={repeat}
            onChange={(e) => setRepeat(e.target.value as Repeat)}
            aria-invalid={repeat !== "custom" && !!errors.recurrence}
            aria-describedby={repeat === "custom" ? undefined : describedBy("recurrence")}
            className={inputClass}
          >
            <option value="none">Does not repeat</option>
            <option value="daily">Daily</option>
            <option value="weekdays">Every weekday</option>
            <option value="weekly">Weekly on chosen days</option>
            <option value="monthly">Monthly</option>
            <option value="yearly">Yearly</option>
            <option value="custom">Custom rule…</option>
          </select>
        </Field>
        {repeat !== "none" && (
          <fieldset>
            <legend className="mb-1 block text-sm font-medium text-slate-700 dark:text-slate-300">Next one counts from</legend>
            <div className="flex gap-4 pt-1.5 text-sm">
              <label className="flex items-center gap-1.5">
                <input type="radio" name={`${ids}-anchor`} checked={anchor === "due"} onChange={() => setAnchor("due")} className="accent-indigo-600" />
                the due date
              </label>
              <label className="flex items-center gap-1.5">
                <input type="radio" name={`${ids}-anchor`} checked={anchor === "completion"} onChange={() => setAnchor("completion")} className="accent-indigo-600" />
                completion
              </label>
            </div>
          </fieldset>
        )}
      </div>
      {repeat === "weekly" && (
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-slate-700 dark:text-slate-300">On</legend>
          <div className="flex flex-wrap gap-1">
            {DAYS.map(([code, label]) => (
              <button
                key={code}
                type="button"
                aria-pressed={days.includes(code)}
                onClick={() => setDays(days.includes(code) ? days.filter((d) => d !== code) : [...days, code])}
                className={`w-11 rounded-md border py-1 text-xs font-medium ${
                  days.includes(code) ? "border-indigo-600 bg-indigo-600 text-white" : "border-slate-300 hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
                }`}
              >
                {label}
              </button>
            ))}
          </div>
        </fieldset>
      )}
      {repeat === "custom" && (
        <Field label="Rule (RFC 5545 RRULE)" id={`${ids}-rule`} error={errors.recurrence} hint="For example FREQ=WEEKLY;INTERVAL=2;BYDAY=TU">
          <input
            id={`${ids}-rule`}
            value={customRule}
            onChange={(e) => setCustomRule(e.target.value)}
            aria-invalid={!!errors.recurrence}
            aria-describedby={errors.recurrence ? `${ids}-rule-error` : undefined}
            className={`${inputClass} font-mono`}
          />
        </Field>
      )}

      {message && (
        <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          {message}
        </p>
      )}
      {Object.keys(errors).length > 0 && !message && (
        <p role="alert" className="sr-only">
          Some fields need attention: {Object.values(errors).join(" ")}
        </p>
      )}
      <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-800">
        <button type="button" onClick={onClose} className="rounded-lg px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800">
          Cancel
        </button>
        <button type="submit" disabled={busy} className="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:opacity-60">
          {busy ? "Saving…" : task ? "Save changes" : "Add task"}
        </button>
      </div>
    </form>
  );
}
