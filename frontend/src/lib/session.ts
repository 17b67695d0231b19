// The signed-in session: tokens in localStorage, so a reload (and every tab) keeps it.
// Refresh tokens rotate and a reused one ends the session, so tabs refresh one at a time
// (Web Locks) and a tab that waited takes the pair the other one got.

export type Tokens = { access: string; refresh: string; expiresAt: number };

const KEY = "taskstream.session";
const NOTICE = "taskstream.notice";

export function readTokens(): Tokens | null {
  if (typeof window === "undefined") return null;
  try {
    const raw = window.localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

export function saveTokens(pair: { access_token: string; refresh_token: string; expires_in: number }): Tokens {
  const tokens = {
    access: pair.access_token,
    refresh: pair.refresh_token,
    expiresAt: Date.now() + pair.expires_in * 1000,
  };
  window.localStorage.setItem(KEY, JSON.stringify(tokens));
  return tokens;
}

export function clearTokens(): void {
  window.localStorage.removeItem(KEY);
}

/** A message for the log-in page (the session ended, say), shown once. */
export function leaveNotice(message: string): void {
  window.sessionStorage.setItem(NOTICE, message);
}

export function takeNotice(): string | null {
  const message = window.sessionStorage.getItem(NOTICE);
  window.sessionStorage.removeItem(NOTICE);
  return message;
}

let inFlight: Promise<Tokens | null> | null = null;

/** A fresh token pair, or null when the session is over (the user must log in again). */
export function refreshTokens(stale: Tokens): Promise<Tokens | null> {
  inFlight ??= withLock(async () => {
    const current = readTokens();
    if (!current) return null;
    if (current.refresh !== stale.refresh) return current; // another tab refreshed already
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh }),
    });
    if (!response.ok) {
      clearTokens();
      return null;
    }
    return saveTokens(await response.json());
  }).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

function withLock<T>(work: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request("taskstream.refresh", work) as Promise<T>;
  }
  return work();
}

/** Ends the session: the server forgets the refresh token, this browser both tokens. */
export async function logOut(): Promise<void> {
  const tokens = readTokens();
  clearTokens();
  if (tokens) {
    await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: tokens.refresh }),
    }).catch(() => undefined);
  }
}

/** The access token, refreshed first when it expires within 30 seconds. */
export async function accessToken(): Promise<string | null> {
  const tokens = readTokens();
  if (!tokens) return null;
  if (tokens.expiresAt - Date.now() > 30_000) return tokens.access;
  return (await refreshTokens(tokens))?.access ?? null;
}
