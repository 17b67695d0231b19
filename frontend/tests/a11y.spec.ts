import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { parisIn, screenshot, signUp, task } from "./helpers";

async function serious(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("axe finds no serious or critical violation on the main screens, light and dark", async ({ page }) => {
  await page.goto("/login/");
  expect(await serious(page)).toEqual([]);
  await page.goto("/signup/");
  expect(await serious(page)).toEqual([]);

  await signUp(page, "axe");
  await page.keyboard.press("n");
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByLabel("Title").fill("Check the contrast");
  await dialog.getByLabel("Priority").selectOption("urgent");
  await dialog.getByLabel("Due date").fill(parisIn(86_400).date);
  await dialog.getByLabel("Repeat").selectOption("weekly");
  expect(await serious(page)).toEqual([]);
  await dialog.getByRole("button", { name: "Add task" }).click();
  await expect(task(page, "Check the contrast")).toBeVisible();
  await page.getByRole("button", { name: "Filters", exact: true }).click();
  expect(await serious(page)).toEqual([]);

  await page.getByRole("button", { name: "History of “Check the contrast”" }).click();
  await expect(page.getByTestId("activity")).toBeVisible();
  expect(await serious(page)).toEqual([]);
  await screenshot(page, "activity");
  await page.keyboard.press("Escape");

  await page.getByRole("button", { name: "Notifications" }).click();
  expect(await serious(page)).toEqual([]);
  await page.keyboard.press("Escape");

  await page.getByRole("button", { name: "Switch to the dark theme" }).click();
  await expect(page.locator("html")).toHaveClass(/dark/);
  expect(await serious(page)).toEqual([]);
  await screenshot(page, "dark");
  await page.reload();
  await expect(page.locator("html")).toHaveClass(/dark/);
});

test("keyboard only: open the dialog, fill it, Escape closes it and focus comes back", async ({ page }) => {
  await signUp(page, "keys");
  const opener = page.getByRole("button", { name: "New task" });
  await opener.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "New task" });
  await expect(dialog.getByLabel("Title")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();

  await page.keyboard.press("n");
  await page.keyboard.type("Typed without a mouse");
  await page.keyboard.press("Enter");
  await expect(task(page, "Typed without a mouse")).toBeVisible();
  await page.keyboard.press("/");
  await expect(page.getByLabel("Search tasks")).toBeFocused();
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test("the list, the dialog and the inbox fit a phone-sized screen @gateway", async ({ page }) => {
    await signUp(page, "phone");
    await page.getByRole("button", { name: "New task" }).click();
    const dialog = page.getByRole("dialog", { name: "New task" });
    await dialog.getByLabel("Title").fill("Pick up the parcel at the post office before it closes");
    await dialog.getByLabel("Priority").selectOption("high");
    await dialog.getByLabel("Tags").fill("errands");
    await dialog.getByLabel("Tags").press("Enter");
    await screenshot(page, "phone-dialog");
    await dialog.getByRole("button", { name: "Add task" }).click();
    const parcel = task(page, "Pick up the parcel");
    await expect(parcel).toBeVisible();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await parcel.getByRole("button", { name: /Complete/ }).tap();
    await expect(parcel).toHaveCount(0);
    await page.getByRole("button", { name: "Undo" }).tap();
    await expect(task(page, "Pick up the parcel")).toBeVisible();
    await screenshot(page, "phone-list");
    expect(await serious(page)).toEqual([]);
  });
});
