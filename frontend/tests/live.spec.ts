import { expect, test } from "@playwright/test";
import { logIn, screenshot, signUp, task } from "./helpers";

test("two tabs of one user see each other's changes live; another user sees none @gateway", async ({ browser }) => {
  const first = await browser.newContext();
  const second = await browser.newContext();
  const stranger = await browser.newContext();
  const a = await first.newPage();
  const b = await second.newPage();
  const c = await stranger.newPage();
  const email = await signUp(a, "live");
  await logIn(b, email);
  await signUp(c, "stranger");

  await a.getByRole("button", { name: "New task" }).click();
  await a.getByRole("dialog").getByLabel("Title").fill("Book the flights");
  await a.getByRole("dialog").getByRole("button", { name: "Add task" }).click();
  await expect(task(b, "Book the flights")).toBeVisible();

  await b.getByRole("button", { name: "Complete “Book the flights”" }).click();
  await expect(task(a, "Book the flights")).toHaveCount(0);

  await b.getByRole("button", { name: "All", exact: true }).click();
  await b.getByRole("button", { name: "Mark “Book the flights” as not done" }).click();
  await expect(task(a, "Book the flights")).toBeVisible();
  await screenshot(a, "live-first-tab");

  // Nothing of it reached the other user, live or on reload.
  await expect(c.getByTestId("task")).toHaveCount(0);
  await c.reload();
  await expect(c.getByText("Nothing to do — yet.")).toBeVisible();
  await Promise.all([first.close(), second.close(), stranger.close()]);
});

test("the connection indicator shows a drop, and what changed meanwhile arrives after the reconnect", async ({ browser }) => {
  const one = await browser.newContext();
  const two = await browser.newContext();
  const a = await one.newPage();
  const b = await two.newPage();
  // The page's WebSocket goes through here, so the test can cut it like a network would.
  let down = false;
  const open: { close: (options?: { code?: number; reason?: string }) => Promise<void> }[] = [];
  await a.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    if (down) {
      void ws.close({ code: 4000, reason: "network down" });
      return;
    }
    ws.connectToServer();
    open.push(ws);
  });
  const email = await signUp(a, "reconnect");
  await logIn(b, email);

  down = true;
  await Promise.all(open.splice(0).map((ws) => ws.close({ code: 4000, reason: "network down" })));
  await expect(a.getByTestId("connection")).not.toHaveAttribute("data-state", "live");
  await screenshot(a, "offline-indicator");
  await b.getByRole("button", { name: "New task" }).click();
  await b.getByRole("dialog").getByLabel("Title").fill("Made while the other was away");
  await b.getByRole("dialog").getByRole("button", { name: "Add task" }).click();
  await expect(task(b, "Made while the other was away")).toBeVisible();
  await expect(task(a, "Made while the other was away")).toHaveCount(0);

  down = false;
  await expect(a.getByTestId("connection")).toHaveAttribute("data-state", "live", { timeout: 20_000 });
  await expect(task(a, "Made while the other was away")).toBeVisible();
  await Promise.all([one.close(), two.close()]);
});

test("a socket closed with 4401 while the log-in lasts: the page refreshes its tokens and reconnects", async ({ page }) => {
  // The socket goes through here, so the test can close it as the server does when its token expires.
  const open: { close: (options?: { code?: number; reason?: string }) => Promise<void> }[] = [];
  await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    ws.connectToServer();
    open.push(ws);
  });
  await signUp(page, "expired");
  const refreshToken = () => page.evaluate(() => JSON.parse(localStorage.getItem("taskstream.session") ?? "{}").refresh as string);
  const before = await refreshToken();

  await Promise.all(open.splice(0).map((ws) => ws.close({ code: 4401, reason: "token_expired: Your access token has expired" })));
  await expect.poll(refreshToken).not.toBe(before);
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
  await expect(page.getByRole("heading", { name: "Tasks" })).toBeVisible();
});

test("when its log-in ends elsewhere, the server closes the page's socket and the page asks to log in again @gateway", async ({ page, request }) => {
  await signUp(page, "ended");
  const refresh = await page.evaluate(() => JSON.parse(localStorage.getItem("taskstream.session") ?? "{}").refresh as string);
  // Ended by the server alone (as by a log-out from another client): the page sends nothing meanwhile.
  const response = await request.post("/api/v1/auth/logout", { data: { refresh_token: refresh } });
  expect(response.status()).toBe(204);

  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await expect(page.getByRole("status")).toHaveText("Your session has ended: please log in again.");
});
