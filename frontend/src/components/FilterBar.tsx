"use client";

import { useEffect, useState } from "react";
import type { Priority, Tag } from "@/lib/api";
import { DEFAULT_FILTERS, isFiltered, type Filters, type SortKey } from "@/lib/filters";

const SEARCH_DELAY_MS = 250;
const PRIORITIES: { value: Priority; label: string }[] = [
  { value: "urgent", label: "Urgent" },
  { value: "high", label: "High" },
  { value: "medium", label: "Medium" },
  { value: "low", label: "Low" },
];
const SORTS: { value: SortKey; label: string }[] = [
  { value: "due", label: "Due date" },
  { value: "priority", label: "Priority" },
  { value: "created", label: "Created" },
  { value: "updated", label: "Updated" },
  { value: "title", label: "Title" },
];

const control =
  "rounded-lg border border-slate-300 bg-white px-2.5 py-1.5 text-sm shadow-sm dark:border-slate-700 dark:bg-slate-900";

export function FilterBar({
  filters,
  tags,
  onChange,
}: {
  filters: Filters;
  tags: Tag[];
  onChange: (next: Filters) => void;
}) {
  const [query, setQuery] = useState(filters.q);
  const [more, setMore] = useState(() => !!(filters.priority.length || filters.tags.length || filters.from || filters.to || filters.overdue));

  // Debounced: the list reloads once the user pauses typing.
  useEffect(() => {
    if (query === filters.q) return;
    const timer = setTimeout(() => onChange({ ...filters, q: query }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query, filters, onChange]);

  const set = (patch: Partial<Filters>) => onChange({ ...filters, ...patch });
  const togglePriority = (p: Priority) =>
    set({ priority: filters.priority.includes(p) ? filters.priority.filter((x) => x !== p) : [...filters.priority, p] });
  const activeCount =
    filters.priority.length + filters.tags.length + (filters.from ? 1 : 0) + (filters.to ? 1 : 0) + (filters.overdue ? 1 : 0);

  return (
    <section aria-label="Filters" className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        <div className="relative min-w-0 flex-1 basis-56">
          <label htmlFor="search" className="sr-only">
            Search tasks
          </label>
          <svg viewBox="0 0 16 16" className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-slate-400" aria-hidden="true">
            <circle cx="7" cy="7" r="4.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
            <path d="M10.5 10.5L14 14" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
          </svg>
          <input
            id="search"
            type="search"
            placeholder="Search tasks"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            className={`${control} w-full pl-8`}
          />
        </div>
        <div role="group" aria-label="Status" className="flex rounded-lg border border-slate-300 bg-white p-0.5 shadow-sm dark:border-slate-700 dark:bg-slate-900">
          {(["open", "done", "all"] as const).map((s) => (
            <button
              key={s}
              type="button"
              aria-pressed={filters.status === s}
              onClick={() => set({ status: s })}
              className={`rounded-md px-2.5 py-1 text-sm font-medium ${
                filters.status === s
                  ? "bg-indigo-600 text-white"
                  : "text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
              }`}
            >
              {s === "open" ? "Open" : s === "done" ? "Done" : "All"}
            </button>
          ))}
        </div>
        <div className="flex items-center gap-1">
          <label htmlFor="sort" className="sr-only">
            Sort by
          </label>
          <select id="sort" value={filters.sort} onChange={(e) => set({ sort: e.target.value as SortKey })} className={control}>
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
          <button
            type="button"
            onClick={() => set({ order: filters.order === "asc" ? "desc" : "asc" })}
            aria-label={filters.order === "asc" ? "Ascending; switch to descending" : "Descending; switch to ascending"}
            title={filters.order === "asc" ? "Ascending" : "Descending"}
            className={`${control} px-2`}
          >
            <span aria-hidden="true">{filters.order === "asc" ? "↑" : "↓"}</span>
          </button>
        </div>
        <button
          type="button"
          aria-expanded={more}
          aria-controls="more-filters"
          onClick={() => setMore(!more)}
          className={`${control} font-medium`}
        >
          Filters{activeCount ? ` · ${activeCount}` : ""}
        </button>
      </div>
      {more && (
        <div
          id="more-filters"
          className="flex flex-wrap items-end gap-x-4 gap-y-3 rounded-xl border border-slate-200 bg-white p-3 text-sm dark:border-slate-800 dark:bg-slate-900"
        >
          <fieldset>
            <legend className="mb-1 text-xs font-medium text-slate-600 dark:text-slate-400">Priority</legend>
            <div className="flex flex-wrap gap-1">
              {PRIORITIES.map((p) => (
                <button
                  key={p.value}
                  type="button"
                  aria-pressed={filters.priority.includes(p.value)}
                  onClick={() => togglePriority(p.value)}
                  className={`rounded-full border px-2.5 py-0.5 text-xs font-medium ${
                    filters.priority.includes(p.value)
                      ? "border-indigo-600 bg-indigo-600 text-white"
                      : "border-slate-300 text-slate-700 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800"
                  }`}
                >
                  {p.label}
                </button>
              ))}
            </div>
          </fieldset>
          <div>
            <label htmlFor="tag-filter" className="mb-1 block text-xs font-medium text-slate-600 dark:text-slate-400">
              Tag
            </label>
            <select
              id="tag-filter"
              value=""
              onChange={(e) => e.target.value && set({ tags: [...filters.tags, e.target.value] })}
              className={control}
            >
              <option value="">Add a tag…</option>
              {tags
                .filter((t) => !filters.tags.includes(t.name))
                .map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name} ({t.count})
                  </option>
                ))}
            </select>
          </div>
          <div>
            <label htmlFor="due-from" className="mb-1 block text-xs font-medium text-slate-600 dark:text-slate-400">
              Due from
            </label>
            <input id="due-from" type="date" value={filters.from} onChange={(e) => set({ from: e.target.value })} className={control} />
          </div>
          <div>
            <label htmlFor="due-to" className="mb-1 block text-xs font-medium text-slate-600 dark:text-slate-400">
              Due until
            </label>
            <input id="due-to" type="date" value={filters.to} onChange={(e) => set({ to: e.target.value })} className={control} />
          </div>
          <label className="flex items-center gap-2 pb-1.5">
            <input
              type="checkbox"
              checked={filters.overdue}
              onChange={(e) => set({ overdue: e.target.checked })}
              className="h-4 w-4 rounded border-slate-300 accent-indigo-600"
            />
            Overdue only
          </label>
        </div>
      )}
      {(filters.tags.length > 0 || isFiltered(filters)) && (
        <div className="flex flex-wrap items-center gap-2 text-sm">
          {filters.tags.map((tag) => (
            <span key={tag} className="inline-flex items-center gap-1 rounded-full bg-indigo-100 py-0.5 pl-2.5 pr-1 text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100">
              #{tag}
              <button
                type="button"
                aria-label={`Remove tag filter ${tag}`}
                onClick={() => set({ tags: filters.tags.filter((t) => t !== tag) })}
                className="rounded-full px-1 hover:bg-indigo-200 dark:hover:bg-indigo-800"
              >
                ×
              </button>
            </span>
          ))}
          <button
            type="button"
            onClick={() => {
              setQuery("");
              onChange({ ...DEFAULT_FILTERS, status: filters.status, sort: filters.sort, order: filters.order });
            }}
            className="text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300"
          >
            Clear filters
          </button>
        </div>
      )}
    </section>
  );
}
