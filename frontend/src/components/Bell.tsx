"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { useDismiss } from "@/lib/dismiss";
import { api } from "@/lib/api";
import type { components } from "@/api/schema";
import { ago } from "@/lib/format";

type Notification = components["schemas"]["NotificationPublic"];

/** The inbox: a bell with the unread count, and the newest notifications under it. */
export function Bell() {
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[]>([]);
  const [unread, setUnread] = useState(0);
  const ref = useRef<HTMLDivElement>(null);

  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/notifications", { params: { query: { limit: 20 } } });
    if (data) {
      setItems(data.data);
      setUnread(data.unread);
    }
  }, []);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the inbox is loaded once mounted
    void load();
    const again = () => void load();
    window.addEventListener("taskstream:notification", again);
    window.addEventListener("focus", again);
    return () => {
      window.removeEventListener("taskstream:notification", again);
      window.removeEventListener("focus", again);
    };
  }, [load]);

  const closeMenu = useCallback(() => setOpen(false), []);
  useDismiss(open, ref, closeMenu);

  async function markRead(item: Notification) {
    if (item.read_at) return;
    await api.POST("/api/v1/notifications/{notification_id}/read", { params: { path: { notification_id: item.id } } });
    void load();
  }

  async function markAll() {
    await api.POST("/api/v1/notifications/read");
    void load();
  }

  return (
    <div ref={ref} className="relative">
      <button
        type="button"
        onClick={() => {
          setOpen(!open);
          if (!open) void load();
        }}
        aria-expanded={open}
        aria-controls="inbox"
        aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
        className="relative rounded-lg p-2 text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
      >
        <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
          <path d="M10 2.5a5 5 0 015 5v3.5l1.5 2.5h-13L5 11V7.5a5 5 0 015-5zM8 16a2 2 0 004 0" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
        </svg>
        {unread > 0 && (
          <span data-testid="unread-count" className="absolute -right-0.5 -top-0.5 flex h-[18px] min-w-[18px] items-center justify-center rounded-full bg-red-600 px-1 text-[11px] font-bold text-white">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          id="inbox"
          role="region"
          aria-label="Notifications"
          className="absolute right-0 z-40 mt-2 w-[min(22rem,calc(100vw-1.5rem))] overflow-hidden rounded-xl border border-slate-200 bg-white shadow-xl dark:border-slate-700 dark:bg-slate-800"
        >
          <div className="flex items-center justify-between border-b border-slate-200 px-4 py-2.5 dark:border-slate-700">
            <h2 className="text-sm font-semibold">Notifications</h2>
            {unread > 0 && (
              <button type="button" onClick={() => void markAll()} className="text-xs font-medium text-indigo-700 hover:underline dark:text-indigo-300">
                Mark all read
              </button>
            )}
          </div>
          {items.length === 0 ? (
            <p className="px-4 py-8 text-center text-sm text-slate-600 dark:text-slate-400">No notifications yet. Reminders land here.</p>
          ) : (
            <ul className="max-h-96 divide-y divide-slate-100 overflow-y-auto dark:divide-slate-700">
              {items.map((item) => (
                <li key={item.id}>
                  <button
                    type="button"
                    data-testid="notification"
                    onClick={() => void markRead(item)}
                    className={`flex w-full items-start gap-3 px-4 py-3 text-left text-sm hover:bg-slate-50 dark:hover:bg-slate-700/60 ${item.read_at ? "" : "bg-indigo-50/60 dark:bg-indigo-950/40"}`}
                  >
<svg viewBox="0 0 20 20" className="mt-0.5 h-4 w-4 shrink-0 text-indigo-600 dark:text-indigo-300" aria-hidden="true">
                <path d="M10 2.5a5 5 0 015 5v3.5l1.5 2.5h-13L5 11V7.5a5 5 0 015-5zM8 16a2 2 0 004 0" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
              </svg>
                    <span className="min-w-0 flex-1">
                      <span className="block truncate font-medium">{item.title || "A reminder"}</span>
                      <span className="block text-xs text-slate-500 dark:text-slate-400">
                        Reminder · <time dateTime={item.created_at}>{ago(item.created_at)}</time>
                        {!item.read_at && <span className="sr-only"> · unread</span>}
                      </span>
                    </span>
                    {!item.read_at && <span className="mt-1.5 h-2 w-2 shrink-0 rounded-full bg-indigo-600" aria-hidden="true" />}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
