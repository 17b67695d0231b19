import { expect, test } from "@playwright/test";
import { logIn, screenshot, signUp, task } from "./helpers";

test("sign up, add a task, keep the session over a reload, log out and back in @gateway", async ({ page }) => {
  const email = await signUp(page);
  await expect(page.getByText("Nothing to do — yet.")).toBeVisible();
  await screenshot(page, "empty-list");

  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByLabel("Title").fill("Buy milk");
  await dialog.getByLabel("Priority").selectOption("high");
  await dialog.getByLabel("Tags").fill("home");
  await dialog.getByLabel("Tags").press("Enter");
  await dialog.getByRole("button", { name: "Add task" }).click();
  await expect(dialog).toBeHidden();
  const milk = task(page, "Buy milk");
  await expect(milk).toBeVisible();
  await expect(milk.getByText("High")).toBeVisible();
  await expect(milk.getByText("#home")).toBeVisible();

  await page.reload();
  await expect(task(page, "Buy milk")).toBeVisible();

  await page.getByRole("button", { name: "Account" }).click();
  await page.getByRole("menuitem", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();

  await logIn(page, email);
  await expect(task(page, "Buy milk")).toBeVisible();
});
