"use client";

import { createContext, useCallback, useContext, useMemo, useRef, useState } from "react";

export type Toast = {
  id: number;
  title: string;
  body?: string;
  tone?: "info" | "reminder" | "error";
  action?: { label: string; run: () => void };
  ms?: number;
};

type Toaster = { show: (toast: Omit<Toast, "id">) => number; dismiss: (id: number) => void };

const Context = createContext<Toaster>({ show: () => 0, dismiss: () => undefined });

export function useToasts(): Toaster {
  return useContext(Context);
}

export function ToastProvider({ children }: { children: React.ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const show = useCallback(
    (toast: Omit<Toast, "id">) => {
      const id = next.current++;
      setToasts((all) => [...all.slice(-3), { ...toast, id }]);
      setTimeout(() => dismiss(id), toast.ms ?? 6000);
      return id;
    },
    [dismiss],
  );
  const value = useMemo(() => ({ show, dismiss }), [show, dismiss]);

  return (
    <Context.Provider value={value}>
      {children}
      <div
        aria-live="polite"
        className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-center gap-2 p-4 sm:items-end"
      >
        {toasts.map((toast) => (
          <div
            key={toast.id}
            role={toast.tone === "error" ? "alert" : "status"}
            data-testid={toast.tone === "reminder" ? "reminder-toast" : "toast"}
            className={`toast-in pointer-events-auto flex w-full max-w-sm items-start gap-3 rounded-xl border px-4 py-3 text-sm shadow-lg ${
              toast.tone === "reminder"
                ? "border-indigo-200 bg-indigo-50 text-indigo-950 dark:border-indigo-800 dark:bg-indigo-950 dark:text-indigo-50"
                : toast.tone === "error"
                  ? "border-red-200 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100"
                  : "border-slate-200 bg-white text-slate-900 dark:border-slate-700 dark:bg-slate-800 dark:text-slate-100"
            }`}
          >
            {toast.tone === "reminder" && (
              <svg viewBox="0 0 20 20" className="mt-0.5 h-4 w-4 shrink-0 text-indigo-600 dark:text-indigo-300" aria-hidden="true">
                <path d="M10 2.5a5 5 0 015 5v3.5l1.5 2.5h-13L5 11V7.5a5 5 0 015-5zM8 16a2 2 0 004 0" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
              </svg>
            )}
            <div className="min-w-0 flex-1">
              <p className="font-medium">{toast.title}</p>
              {toast.body && <p className="mt-0.5 text-slate-600 dark:text-slate-300">{toast.body}</p>}
            </div>
            {toast.action && (
              <button
                type="button"
                onClick={() => {
                  toast.action?.run();
                  dismiss(toast.id);
                }}
                className="rounded-md px-2 py-1 font-semibold text-indigo-700 hover:bg-indigo-100 dark:text-indigo-300 dark:hover:bg-indigo-900"
              >
                {toast.action.label}
              </button>
            )}
            <button
              type="button"
              onClick={() => dismiss(toast.id)}
              aria-label="Dismiss"
              className="rounded-md px-1.5 text-slate-500 hover:bg-black/5 dark:text-slate-400 dark:hover:bg-white/10"
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </Context.Provider>
  );
}
