import { expect, test } from "@playwright/test";
import { parisIn, screenshot, signUp, task } from "./helpers";

test("a task with due, tags, priority and a reminder seconds ahead: the toast appears @gateway", async ({ page }) => {
  await signUp(page, "toast");
  const due = parisIn(3600);
  const remind = parisIn(15);

  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByLabel("Title").fill("Submit the report");
  await dialog.getByLabel("Priority").selectOption("urgent");
  await dialog.getByLabel("Tags").fill("work");
  await dialog.getByLabel("Tags").press("Enter");
  await dialog.getByLabel("Tags").fill("q4,");
  await dialog.getByLabel("Due date").fill(due.date);
  await dialog.getByLabel("Due time").fill(due.time);
  await dialog.getByRole("button", { name: "+ Add a reminder" }).click();
  await dialog.getByLabel("Reminder 1 kind").selectOption("at");
  await dialog.getByLabel("Reminder 1: when").fill(remind.datetime);
  await screenshot(page, "task-dialog");
  await dialog.getByRole("button", { name: "Add task" }).click();

  const report = task(page, "Submit the report");
  await expect(report).toBeVisible();
  await expect(report.getByText("Urgent")).toBeVisible();
  await expect(report.getByText("#work")).toBeVisible();
  await expect(report.getByText("#q4")).toBeVisible();
  await expect(report.getByText("1 reminder")).toBeVisible();
  await expect(report.getByTestId("due")).toContainText(/today|tomorrow/);

  const toast = page.getByTestId("reminder-toast");
  await expect(toast).toContainText("Reminder: Submit the report", { timeout: 40_000 });
  await screenshot(page, "reminder-toast");
  await expect(page.getByTestId("unread-count")).toHaveText("1");
});

test("a reminder that fires while the page is closed waits in the inbox", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page, "inbox");
  const remind = parisIn(15);

  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByLabel("Title").fill("Move the car");
  await dialog.getByRole("button", { name: "+ Add a reminder" }).click();
  await dialog.getByLabel("Reminder 1: when").fill(remind.datetime);
  await dialog.getByRole("button", { name: "Add task" }).click();
  await expect(task(page, "Move the car")).toBeVisible();
  await page.close();

  // Nobody has the app open when the reminder fires.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, remind.at - Date.now()) + 3000));

  const again = await context.newPage();
  await again.goto("/");
  await expect(again.getByTestId("unread-count")).toHaveText("1", { timeout: 15_000 });
  await expect(again.getByTestId("reminder-toast")).toHaveCount(0);
  await again.getByRole("button", { name: "Notifications, 1 unread" }).click();
  const inbox = again.getByRole("region", { name: "Notifications" });
  await expect(inbox.getByTestId("notification")).toContainText("Move the car");
  await screenshot(again, "inbox");
  await inbox.getByRole("button", { name: "Mark all read" }).click();
  await expect(again.getByTestId("unread-count")).toHaveCount(0);
  await context.close();
});
