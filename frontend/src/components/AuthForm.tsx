"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import type { components } from "@/api/schema";
import { api, fieldErrors, problemMessage } from "@/lib/api";
import { readTokens, saveTokens, takeNotice } from "@/lib/session";
import { Logo } from "./Logo";

type Mode = "login" | "signup";
type SignUp = components["schemas"]["SignUp"];

export function AuthForm({ mode }: { mode: Mode }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (readTokens()) {
      window.location.replace("/");
      return;
    }
    // eslint-disable-next-line react-hooks/set-state-in-effect -- read once from sessionStorage after mount
    setNotice(takeNotice());
  }, []);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage(null);
    try {
      if (mode === "signup") {
        // The browser's IANA zone; the API refuses one it does not know, with a message.
        const timezone = (Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC") as SignUp["timezone"];
        const { error } = await api.POST("/api/v1/auth/signup", { body: { email, password, timezone } });
        if (error) {
          const found = fieldErrors(error);
          setErrors(found);
          if (!Object.keys(found).length) setMessage(problemMessage(error));
          return;
        }
      }
      const { data, error } = await api.POST("/api/v1/auth/login", { body: { email, password } });
      if (error || !data) {
        setMessage(problemMessage(error, "Could not log in."));
        return;
      }
      saveTokens(data);
      window.location.replace("/");
    } catch {
      setMessage("The server does not answer. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  const title = mode === "login" ? "Log in" : "Create your account";
  return (
    <main className="flex min-h-full items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex flex-col items-center gap-3">
          <Logo className="h-10 w-10" />
          <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {mode === "login" ? "Welcome back to taskstream." : "Tasks, reminders and a helpful assistant."}
          </p>
        </div>
        <form
          onSubmit={submit}
          noValidate
          className="space-y-4 rounded-2xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900"
        >
          {notice && (
            <p role="status" className="rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200">
              {notice}
            </p>
          )}
          <Field label="E-mail" id="email" error={errors.email}>
            <input
              id="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={!!errors.email}
              aria-describedby={errors.email ? "email-error" : undefined}
              className={inputClass}
            />
          </Field>
          <Field label="Password" id="password" error={errors.password}>
            <input
              id="password"
              type="password"
              autoComplete={mode === "login" ? "current-password" : "new-password"}
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={!!errors.password}
              aria-describedby={errors.password ? "password-error" : undefined}
              className={inputClass}
            />
          </Field>
          {message && (
            <p role="alert" className="text-sm text-red-700 dark:text-red-400">
              {message}
            </p>
          )}
          <button
            type="submit"
            disabled={busy}
            className="w-full rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:opacity-60"
          >
            {busy ? "Please wait…" : mode === "login" ? "Log in" : "Sign up"}
          </button>
        </form>
        <p className="mt-6 text-center text-sm text-slate-600 dark:text-slate-400">
          {mode === "login" ? (
            <>
              New here?{" "}
              <Link href="/signup/" className="font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
                Create an account
              </Link>
            </>
          ) : (
            <>
              Have an account?{" "}
              <Link href="/login/" className="font-medium text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
                Log in
              </Link>
            </>
          )}
        </p>
      </div>
    </main>
  );
}

export const inputClass =
  "block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 aria-[invalid=true]:border-red-500 dark:border-slate-700 dark:bg-slate-950";

export function Field({
  label,
  id,
  error,
  hint,
  children,
}: {
  label: string;
  id: string;
  error?: string;
  hint?: string;
  children: React.ReactNode;
}) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-700 dark:text-slate-300">
        {label}
      </label>
      {children}
      {hint && !error && <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
      {error && (
        <p id={`${id}-error`} className="mt-1 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}
