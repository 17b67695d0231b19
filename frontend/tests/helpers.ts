import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const PASSWORD = "correct horse battery staple";

export function uniqueEmail(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@example.com`;
}

/** Signs up through the UI and waits for the (empty) task list. */
export async function signUp(page: Page, label = "ada"): Promise<string> {
  const email = uniqueEmail(label);
  await page.goto("/signup/");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
  return email;
}

/** Logs in through the UI. */
export async function logIn(page: Page, email: string): Promise<void> {
  await page.goto("/login/");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
}

/** An access token for `email`, for writing through the API directly. */
export async function token(request: APIRequestContext, email: string): Promise<string> {
  const response = await request.post("/api/v1/auth/login", { data: { email, password: PASSWORD } });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).access_token;
}

export function task(page: Page, title: string) {
  return page.getByTestId("task").filter({ hasText: title });
}

/** Saves a screenshot of the page as a test artifact (frontend/artifacts/, not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(process.cwd(), "artifacts", "screenshots");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}

/** A wall-clock time `seconds` from now in Europe/Paris (the tests' zone), as inputs take it. */
export function parisIn(seconds: number): { date: string; time: string; datetime: string; at: number } {
  const moment = new Date(Math.floor((Date.now() + seconds * 1000) / 1000) * 1000);
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Europe/Paris",
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(moment);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  const date = `${get("year")}-${get("month")}-${get("day")}`;
  const time = `${get("hour")}:${get("minute")}`;
  return { date, time, datetime: `${date}T${time}:${get("second")}`, at: moment.getTime() };
}
