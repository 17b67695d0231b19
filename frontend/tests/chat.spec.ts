import { expect, test } from "@playwright/test";
import { screenshot, signUp, task } from "./helpers";

test("the assistant adds a task; its action shows under the answer and the list shows the task @gateway", async ({ page }) => {
  await signUp(page, "chat");
  const chat = page.getByRole("region", { name: "Assistant" });
  await chat.getByLabel("Message to the assistant").fill("Add pick up the dry cleaning tomorrow at 5pm");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.getByTestId("user-message")).toHaveText("Add pick up the dry cleaning tomorrow at 5pm");
  const answer = chat.getByTestId("assistant-message").last();
  await expect(answer).toBeVisible({ timeout: 20_000 });
  await expect(answer.getByTestId("tool-call")).toContainText(/Added/i);
  const cleaning = task(page, "dry cleaning");
  await expect(cleaning).toBeVisible();
  await expect(cleaning.getByTestId("due")).toContainText("tomorrow 17:00");
  await screenshot(page, "chat");

  // The conversation is still there after a reload.
  await page.reload();
  await expect(page.getByRole("region", { name: "Assistant" }).getByTestId("assistant-message").first()).toBeVisible();
});
