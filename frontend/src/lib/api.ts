// The API client: generated types (src/api/schema.ts) with openapi-fetch. Its transport
// adds the access token, refreshes it once on a 401 and retries; when the session is over
// it sends the user to the log-in page with a message.
import createClient from "openapi-fetch";
import type { components, paths } from "@/api/schema";
import { accessToken, leaveNotice, readTokens, refreshTokens } from "./session";

export type Task = components["schemas"]["TaskPublic"];
export type TaskCreate = components["schemas"]["TaskCreate"];
export type TaskUpdate = components["schemas"]["TaskUpdate"];
export type Priority = components["schemas"]["Priority"];
export type Problem = components["schemas"]["Problem"];
export type Activity = components["schemas"]["ActivityPublic"];
export type Tag = components["schemas"]["TagPublic"];
export type User = components["schemas"]["UserPublic"];

export function sessionEnded(message = "Your session has ended: please log in again."): void {
  leaveNotice(message);
  // A full load: nothing of the ended session stays in memory.
  // eslint-disable-next-line @next/next/no-location-assign-relative-destination
  window.location.assign("/login/");
}

async function authorizedFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const token = await accessToken();
  if (token) request.headers.set("authorization", `Bearer ${token}`);
  const response = await fetch(request);
  if (response.status !== 401 || !token) return response;
  const stale = readTokens();
  const fresh = stale ? await refreshTokens(stale) : null;
  if (!fresh) {
    sessionEnded();
    return response;
  }
  retry.headers.set("authorization", `Bearer ${fresh.access}`);
  return fetch(retry);
}

export const api = createClient<paths>({ baseUrl: "", fetch: authorizedFetch });

/** Field name → message, from a problem's `errors` (the API's validation messages). */
export function fieldErrors(problem: unknown): Record<string, string> {
  const found: Record<string, string> = {};
  const errors = (problem as Problem | undefined)?.errors ?? [];
  for (const error of errors) {
    const field = error.field.replace(/^body\./, "").split(/[.[]/)[0] || error.field;
    found[field] ??= error.message;
  }
  return found;
}

export function problemMessage(problem: unknown, fallback = "Something went wrong."): string {
  const p = problem as Partial<Problem> | undefined;
  return p?.detail || p?.title || fallback;
}
