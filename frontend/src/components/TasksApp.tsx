"use client";

import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useDismiss } from "@/lib/dismiss";
import { api, problemMessage, type Tag, type Task, type User } from "@/lib/api";
import { DEFAULT_FILTERS, filtersToSearch, isFiltered, parseFilters, toQuery, type Filters } from "@/lib/filters";
import { useLive, type LiveEvent, type LiveState } from "@/lib/live";
import { fromEvent, patched } from "@/lib/view";
import { logOut, readTokens } from "@/lib/session";
import { ActivityDialog } from "./ActivityDialog";
import { Bell } from "./Bell";
import { ChatPanel } from "./ChatPanel";
import { FilterBar } from "./FilterBar";
import { Logo } from "./Logo";
import { TaskDialog } from "./TaskDialog";
import { TaskItem } from "./TaskItem";
import { ThemeToggle } from "./ThemeToggle";
import { ToastProvider, useToasts } from "./Toasts";

const UNDO_MS = 5000;

export function TasksApp() {
  return (
    <ToastProvider>
      <Home />
    </ToastProvider>
  );
}

function Home() {
  const [user, setUser] = useState<User | null>(null);
  const [filters, setFilters] = useState<Filters>(DEFAULT_FILTERS);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    if (!readTokens()) {
      window.location.replace("/login/");
      return;
    }
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the URL is only known in the browser
    setFilters(parseFilters(window.location.search));
    setReady(true);
    api.GET("/api/v1/users/me").then(({ data }) => data && setUser(data));
    const back = () => setFilters(parseFilters(window.location.search));
    window.addEventListener("popstate", back);
    return () => window.removeEventListener("popstate", back);
  }, []);

  const changeFilters = useCallback((next: Filters) => {
    setFilters(next);
    const url = `${window.location.pathname}${filtersToSearch(next)}`;
    window.history.replaceState(null, "", url);
  }, []);

  if (!ready) return <div className="min-h-full" aria-busy="true" />;
  return <Workspace user={user} filters={filters} onFilters={changeFilters} />;
}

function Workspace({ user, filters, onFilters }: { user: User | null; filters: Filters; onFilters: (f: Filters) => void }) {
  const timeZone = user?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [tags, setTags] = useState<Tag[]>([]);
  const [loadError, setLoadError] = useState(false);
  const [editing, setEditing] = useState<Task | null>(null);
  const [creating, setCreating] = useState(false);
  const [history, setHistory] = useState<Task | null>(null);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [chatOpen, setChatOpen] = useState(false);
  const toasts = useToasts();
  const query = useMemo(() => toQuery(filters, timeZone), [filters, timeZone]);
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const [list, tagList] = await Promise.all([
        api.GET("/api/v1/tasks", { params: { query } }),
        api.GET("/api/v1/tags"),
      ]);
      if (mine !== generation.current) return; // a newer view was asked for meanwhile
      if (list.data) {
        setTasks(list.data.data);
        setNextCursor(list.data.next_cursor);
        setLoadError(false);
      } else setLoadError(true);
      if (tagList.data) setTags(tagList.data.data);
    } catch {
      if (mine === generation.current) setLoadError(true);
    }
  }, [query]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- load the view whenever it changes
    void reload();
  }, [reload]);

  // Live: a change shows at once from the task the event carries, then a reload (one at
  // a time; changes during one cause one more) confirms the view from the server.
  const loading = useRef<"idle" | "busy" | "again">("idle");
  const soon = useCallback(() => {
    if (loading.current !== "idle") {
      loading.current = "again";
      return;
    }
    loading.current = "busy";
    void (async () => {
      let again: boolean;
      do {
        loading.current = "busy";
        await reload();
        again = (loading.current as string) === "again"; // set by events meanwhile
      } while (again);
      loading.current = "idle";
    })();
  }, [reload]);
  const onEvent = useCallback(
    (event: LiveEvent) => {
      if (event.type === "task.changed") {
        const task = fromEvent(event.data);
        if (task) {
          const deleted = event.data.change === "task.deleted";
          setTasks((all) => (all ? (patched(all, task, filters, timeZone, deleted) ?? all) : all));
        }
        soon();
      }
      else if (event.type === "notification") {
        const title = String(event.data.title ?? "A reminder");
        toasts.show({ title: `Reminder: ${title}`, body: dueLine(event.data.due_at, timeZone), tone: "reminder", ms: 12_000 });
        notifyBrowser(title, dueLine(event.data.due_at, timeZone));
        window.dispatchEvent(new CustomEvent("taskstream:notification"));
      }
    },
    [soon, toasts, timeZone, filters],
  );
  const live = useLive(true, { onEvent, onRefetch: soon });

  async function loadMore() {
    if (!nextCursor) return;
    const { data } = await api.GET("/api/v1/tasks", { params: { query: { ...query, cursor: nextCursor } } });
    if (data) {
      setTasks((all) => [...(all ?? []), ...data.data]);
      setNextCursor(data.next_cursor);
    }
  }

  async function toggle(task: Task) {
    const done = task.status === "done";
    const path = done ? "/api/v1/tasks/{task_id}/reopen" : "/api/v1/tasks/{task_id}/complete";
    setTasks((all) => all?.map((t) => (t.id === task.id ? { ...t, status: done ? "open" : "done" } : t)) ?? null);
    const { error } = await api.POST(path, { params: { path: { task_id: task.id } } });
    if (error) {
      toasts.show({ title: "Could not update the task", body: problemMessage(error), tone: "error" });
      void reload();
      return;
    }
    void reload();
    if (!done)
      toasts.show({
        title: `Completed “${task.title}”`,
        body: task.recurrence ? "The next one is on its way." : undefined,
        ms: UNDO_MS,
        action: {
          label: "Undo",
          run: () => void api.POST("/api/v1/tasks/{task_id}/reopen", { params: { path: { task_id: task.id } } }).then(() => reload()),
        },
      });
  }

  // A deletion waits out its undo window; leaving the page carries it out at once.
  const deletions = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const commitDelete = useCallback(
    async (id: string) => {
      deletions.current.delete(id);
      await api.DELETE("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } } });
      setHidden((h) => {
        const next = new Set(h);
        next.delete(id);
        return next;
      });
      void reload();
    },
    [reload],
  );
  useEffect(() => {
    const flush = () => {
      const token = readTokens()?.access;
      for (const [id, timer] of deletions.current) {
        clearTimeout(timer);
        void fetch(`/api/v1/tasks/${id}`, { method: "DELETE", keepalive: true, headers: token ? { authorization: `Bearer ${token}` } : {} });
      }
      deletions.current.clear();
    };
    window.addEventListener("pagehide", flush);
    return () => window.removeEventListener("pagehide", flush);
  }, []);
  function remove(task: Task) {
    setHidden((h) => new Set(h).add(task.id));
    deletions.current.set(task.id, setTimeout(() => void commitDelete(task.id), UNDO_MS));
    toasts.show({
      title: `Deleted “${task.title}”`,
      ms: UNDO_MS,
      action: {
        label: "Undo",
        run: () => {
          clearTimeout(deletions.current.get(task.id));
          deletions.current.delete(task.id);
          setHidden((h) => {
            const next = new Set(h);
            next.delete(task.id);
            return next;
          });
        },
      },
    });
  }

  // Keyboard: "n" opens a new task, "/" goes to the search box.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.metaKey || e.ctrlKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable) return;
      if (document.querySelector("dialog[open]")) return;
      if (e.key === "n") {
        e.preventDefault();
        setCreating(true);
      } else if (e.key === "/") {
        e.preventDefault();
        document.getElementById("search")?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const visible = tasks?.filter((t) => !hidden.has(t.id)) ?? null;

  return (
    <div className="flex min-h-full flex-col">
      <Header user={user} live={live} />
      <main id="main" className="mx-auto flex w-full max-w-7xl flex-1 gap-6 px-3 py-4 sm:px-6 sm:py-6">
        <div className="min-w-0 flex-1 space-y-4">
          <div className="flex items-center justify-between gap-3">
            <h1 className="text-xl font-semibold tracking-tight sm:text-2xl">
              {filters.status === "done" ? "Completed" : filters.status === "all" ? "All tasks" : "Tasks"}
            </h1>
            <button
              type="button"
              onClick={() => setCreating(true)}
              aria-keyshortcuts="n"
              className="inline-flex items-center gap-1.5 rounded-lg bg-indigo-600 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500"
            >
              <span aria-hidden="true" className="text-base leading-none">
                +
              </span>
              New task
            </button>
          </div>
          <FilterBar filters={filters} tags={tags} onChange={onFilters} />
          <section aria-label="Task list" className="overflow-hidden rounded-2xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
            {loadError && !visible && (
              <p role="alert" className="px-4 py-8 text-center text-sm text-red-700 dark:text-red-400">
                The tasks could not be loaded.{" "}
                <button type="button" className="underline" onClick={() => void reload()}>
                  Try again
                </button>
              </p>
            )}
            {!visible && !loadError && <ListSkeleton />}
            {visible && visible.length === 0 && <Empty filtered={isFiltered(filters)} onNew={() => setCreating(true)} />}
            {visible && visible.length > 0 && (
              <ul className="divide-y divide-slate-100 dark:divide-slate-800" aria-live="polite" aria-relevant="additions removals">
                {visible.map((task) => (
                  <TaskItem
                    key={task.id}
                    task={task}
                    timeZone={timeZone}
                    onToggle={toggle}
                    onEdit={setEditing}
                    onDelete={remove}
                    onHistory={setHistory}
                    onTag={(tag) => !filters.tags.includes(tag) && onFilters({ ...filters, tags: [...filters.tags, tag] })}
                  />
                ))}
              </ul>
            )}
            {nextCursor && (
              <div className="border-t border-slate-100 p-2 text-center dark:border-slate-800">
                <button type="button" onClick={() => void loadMore()} className="rounded-md px-3 py-1.5 text-sm font-medium text-indigo-700 hover:bg-indigo-50 dark:text-indigo-300 dark:hover:bg-indigo-950">
                  Show more
                </button>
              </div>
            )}
          </section>
          <p className="hidden text-xs text-slate-500 sm:block dark:text-slate-400">
            Shortcuts: <kbd className="rounded border border-slate-300 px-1 dark:border-slate-600">n</kbd> new task ·{" "}
            <kbd className="rounded border border-slate-300 px-1 dark:border-slate-600">/</kbd> search · times in {timeZone}
          </p>
        </div>
        <aside
          aria-label="Assistant panel"
          className={
            chatOpen
              ? "fixed inset-0 z-40 flex bg-slate-950/40 p-2 pt-16 sm:p-6 sm:pt-20 lg:static lg:z-auto lg:block lg:w-96 lg:shrink-0 lg:bg-transparent lg:p-0"
              : "hidden lg:block lg:w-96 lg:shrink-0"
          }
        >
          <div className="h-full w-full lg:sticky lg:top-20 lg:h-[calc(100vh-6.5rem)]">
            <ChatPanel onActed={soon} onClose={chatOpen ? () => setChatOpen(false) : undefined} />
          </div>
        </aside>
      </main>
      {!chatOpen && (
        <button
          type="button"
          onClick={() => setChatOpen(true)}
          className="fixed bottom-4 right-4 z-30 inline-flex items-center gap-2 rounded-full bg-indigo-600 px-4 py-3 text-sm font-semibold text-white shadow-lg hover:bg-indigo-500 lg:hidden"
        >
          <span aria-hidden="true">✦</span> Assistant
        </button>
      )}
      <TaskDialog
        open={creating || !!editing}
        task={editing}
        timeZone={timeZone}
        tags={tags}
        onClose={() => {
          setCreating(false);
          setEditing(null);
        }}
        onSaved={(saved) => {
          setCreating(false);
          setEditing(null);
          toasts.show({ title: editing ? "Saved" : `Added “${saved.title}”`, ms: 3000 });
          void reload();
        }}
      />
      <ActivityDialog task={history} onClose={() => setHistory(null)} />
    </div>
  );
}

function dueLine(due: unknown, timeZone: string): string | undefined {
  if (typeof due !== "string") return undefined;
  return `Due ${new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "short", hour: "numeric", minute: "2-digit" }).format(new Date(due))}`;
}

function notifyBrowser(title: string, body?: string) {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  try {
    new Notification(`Reminder: ${title}`, { body, tag: `taskstream-${title}` });
  } catch {
    // some browsers only allow notifications from a service worker: the toast is enough
  }
}

function Header({ user, live }: { user: User | null; live: LiveState }) {
  return (
    <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:px-3 focus:py-1.5 focus:text-sm dark:focus:bg-slate-800">
        Skip to the tasks
      </a>
      <div className="mx-auto flex h-14 max-w-7xl items-center gap-3 px-3 sm:px-6">
        <Link href="/" aria-label="taskstream: all tasks" className="flex items-center gap-2 font-semibold tracking-tight">
          <Logo />
          <span className="hidden sm:inline">taskstream</span>
        </Link>
        <Connection state={live} />
        <div className="ml-auto flex items-center gap-1">
          <NotificationPermission />
          <Bell />
          <ThemeToggle />
          <AccountMenu user={user} />
        </div>
      </div>
    </header>
  );
}

function Connection({ state }: { state: LiveState }) {
  const look = {
    live: { dot: "bg-emerald-500", text: "Live" },
    connecting: { dot: "bg-amber-400 animate-pulse", text: "Connecting…" },
    offline: { dot: "bg-slate-400", text: "Offline — reconnecting" },
  }[state];
  return (
    <span role="status" data-testid="connection" data-state={state} className="inline-flex items-center gap-1.5 rounded-full bg-slate-100 px-2.5 py-1 text-xs font-medium text-slate-700 dark:bg-slate-800 dark:text-slate-300">
      <span className={`h-2 w-2 rounded-full ${look.dot}`} aria-hidden="true" />
      {look.text}
    </span>
  );
}

function NotificationPermission() {
  const [permission, setPermission] = useState<NotificationPermission | "unsupported">("unsupported");
  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- only known in the browser
    setPermission(typeof Notification === "undefined" ? "unsupported" : Notification.permission);
  }, []);
  if (permission !== "default") return null;
  return (
    <button
      type="button"
      onClick={() => void Notification.requestPermission().then(setPermission)}
      className="hidden rounded-lg px-2.5 py-1.5 text-xs font-medium text-indigo-700 hover:bg-indigo-50 md:inline-block dark:text-indigo-300 dark:hover:bg-indigo-950"
    >
      Enable reminders on this device
    </button>
  );
}

function AccountMenu({ user }: { user: User | null }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const closeMenu = useCallback(() => setOpen(false), []);
  useDismiss(open, ref, closeMenu);
  const initial = (user?.email ?? "?").slice(0, 1).toUpperCase();
  return (
    <div ref={ref} className="relative">
      <button
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Account"
        onClick={() => setOpen(!open)}
        className="flex h-8 w-8 items-center justify-center rounded-full bg-indigo-100 text-sm font-semibold text-indigo-800 hover:ring-2 hover:ring-indigo-300 dark:bg-indigo-900 dark:text-indigo-100"
      >
        {initial}
      </button>
      {open && (
        <div role="menu" className="absolute right-0 mt-2 w-64 rounded-xl border border-slate-200 bg-white p-1.5 shadow-lg dark:border-slate-700 dark:bg-slate-800">
          <p className="truncate px-3 py-2 text-sm text-slate-600 dark:text-slate-300">{user?.email}</p>
          <button
            role="menuitem"
            type="button"
            onClick={async () => {
              await logOut();
              window.location.replace("/login/");
            }}
            className="w-full rounded-lg px-3 py-2 text-left text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-700"
          >
            Log out
          </button>
        </div>
      )}
    </div>
  );
}

function ListSkeleton() {
  return (
    <ul aria-busy="true" aria-label="Loading tasks" className="divide-y divide-slate-100 dark:divide-slate-800">
      {[0, 1, 2].map((i) => (
        <li key={i} className="flex gap-3 px-4 py-4">
          <span className="h-5 w-5 rounded-full bg-slate-200 dark:bg-slate-700" />
          <span className="h-4 flex-1 animate-pulse rounded bg-slate-200 dark:bg-slate-700" />
        </li>
      ))}
    </ul>
  );
}

function Empty({ filtered, onNew }: { filtered: boolean; onNew: () => void }) {
  return (
    <div className="px-6 py-14 text-center">
      <p className="text-base font-medium">{filtered ? "No task matches this view." : "Nothing to do — yet."}</p>
      <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
        {filtered ? "Change the filters or the search." : "Add a task, or ask the assistant."}
      </p>
      {!filtered && (
        <button type="button" onClick={onNew} className="mt-4 rounded-lg bg-indigo-600 px-3.5 py-2 text-sm font-semibold text-white hover:bg-indigo-500">
          Add your first task
        </button>
      )}
    </div>
  );
}

