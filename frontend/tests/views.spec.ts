import { expect, test, type APIRequestContext } from "@playwright/test";
import { parisIn, screenshot, signUp, task, token } from "./helpers";

async function add(request: APIRequestContext, access: string, body: Record<string, unknown>) {
  const response = await request.post("/api/v1/tasks", { data: body, headers: { authorization: `Bearer ${access}` } });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

test("filter, search and sort live in the URL and survive a reload", async ({ page, request }) => {
  const email = await signUp(page, "views");
  const access = await token(request, email);
  const soon = parisIn(86_400);
  const later = parisIn(5 * 86_400);
  await add(request, access, { title: "Plan the garden", priority: "low", tags: ["home"], due_date: later.date });
  await add(request, access, { title: "Pay the gas bill", priority: "high", tags: ["home", "bills"], due_date: soon.date, due_time: "09:00" });
  await add(request, access, { title: "Pay the rent", priority: "urgent", tags: ["bills"], due_date: later.date });
  await add(request, access, { title: "Read a book", priority: "medium" });
  await add(request, access, { title: "Call the plumber", priority: "high", tags: ["home"], due_date: "2020-01-06" });
  await page.reload();
  await expect(page.getByTestId("task")).toHaveCount(5);
  await expect(task(page, "Call the plumber").getByTestId("due")).toContainText("days overdue");
  await expect(task(page, "Pay the gas bill").getByTestId("due")).toHaveText(/tomorrow 9:00/);
  await screenshot(page, "task-list");

  await page.getByLabel("Search tasks").fill("pay");
  await expect(page.getByTestId("task")).toHaveCount(2);
  await page.getByLabel("Sort by").selectOption("priority");
  await page.getByRole("button", { name: /Ascending/ }).click();
  await page.getByRole("button", { name: "Filters", exact: true }).click();
  await page.getByLabel("Tag", { exact: true }).selectOption("bills");
  await expect(page).toHaveURL(/q=pay/);
  await expect(page).toHaveURL(/sort=priority/);
  await expect(page).toHaveURL(/order=desc/);
  await expect(page).toHaveURL(/tag=bills/);
  const titles = () => page.getByTestId("task").locator("button.text-left").allTextContents();
  await expect.poll(titles).toEqual(["Pay the rent", "Pay the gas bill"]);

  await page.reload();
  await expect(page.getByLabel("Search tasks")).toHaveValue("pay");
  await expect(page.getByLabel("Sort by")).toHaveValue("priority");
  await expect.poll(titles).toEqual(["Pay the rent", "Pay the gas bill"]);
  await screenshot(page, "filtered-view");

  await page.getByRole("button", { name: "Clear filters" }).click();
  await page.getByLabel("Overdue only").check();
  await expect.poll(titles).toEqual(["Call the plumber"]);
  await expect(page).toHaveURL(/overdue=1/);
});

test("completing a daily task brings its next occurrence; undo reopens", async ({ page }) => {
  await signUp(page, "daily");
  const today = parisIn(0);
  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByLabel("Title").fill("Water the plants");
  await dialog.getByLabel("Due date").fill(today.date);
  await dialog.getByLabel("Repeat").selectOption("daily");
  await dialog.getByRole("button", { name: "Add task" }).click();
  const plants = task(page, "Water the plants");
  await expect(plants).toHaveCount(1);
  await expect(plants.getByText("daily")).toBeVisible();
  await expect(plants.getByTestId("due")).toContainText("today");

  await page.getByRole("button", { name: "Complete “Water the plants”" }).click();
  await expect(plants).toHaveCount(1);
  await expect(plants.getByTestId("due")).toContainText("tomorrow", { timeout: 10_000 });

  await page.getByRole("button", { name: "Done", exact: true }).click();
  await expect(task(page, "Water the plants")).toHaveCount(1);
  await expect(task(page, "Water the plants").getByTestId("due")).toContainText("today");
});

test("deleting a task can be undone, and the edit dialog shows the API's message on its field", async ({ page }) => {
  await signUp(page, "undo");
  await page.keyboard.press("n");
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByLabel("Title").fill("Keep me");
  await dialog.getByLabel("Repeat").selectOption("custom");
  await dialog.getByLabel("Rule (RFC 5545 RRULE)").fill("FREQ=SOMETIMES");
  await dialog.getByRole("button", { name: "Add task" }).click();
  const rule = dialog.getByLabel("Rule (RFC 5545 RRULE)");
  await expect(rule).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.locator('[id$="-rule-error"]')).toContainText(/FREQ/);
  await screenshot(page, "validation");
  await dialog.getByLabel("Repeat").selectOption("none");
  await dialog.getByRole("button", { name: "Add task" }).click();
  await expect(dialog).toBeHidden();

  await page.getByRole("button", { name: "Delete “Keep me”" }).click();
  await expect(task(page, "Keep me")).toHaveCount(0);
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(task(page, "Keep me")).toHaveCount(1);
  await page.waitForTimeout(6000);
  await page.reload();
  await expect(task(page, "Keep me")).toHaveCount(1);
});
