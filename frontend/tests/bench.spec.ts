// Not a test: the measurement behind `make bench` (bench/web.py), run only with
// TASKSTREAM_WEB_BENCH=1. A task written in one browser context, the time until it is
// in the other context's list; figures go to artifacts/bench.json.
import { expect, test } from "@playwright/test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logIn, signUp } from "./helpers";

const WRITES = Number(process.env.TASKSTREAM_WEB_BENCH_WRITES ?? 50);

test("write in one context, appearance in another @bench", async ({ browser }) => {
  test.setTimeout(600_000);
  const writer = await (await browser.newContext()).newPage();
  const reader = await (await browser.newContext()).newPage();
  const email = await signUp(writer, "bench");
  await logIn(reader, email);

  // The reader notes when each title first shows up in its list.
  await reader.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { __seen: Record<string, number> }).__seen = seen;
    new MutationObserver(() => {
      for (const item of document.querySelectorAll<HTMLElement>('[data-testid="task"] button.text-left')) {
        const title = item.textContent ?? "";
        if (!(title in seen)) seen[title] = performance.timeOrigin + performance.now();
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });

  const latencies: number[] = [];
  const afterAck: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const title = `bench write ${i}`;
    // The write: the writer context's own fetch, with its own token, timed from its start.
    const [started, acked] = await writer.evaluate(async (title) => {
      const tokens = JSON.parse(localStorage.getItem("taskstream.session") ?? "{}");
      const at = performance.timeOrigin + performance.now();
      const response = await fetch("/api/v1/tasks", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tokens.access}` },
        body: JSON.stringify({ title }),
      });
      if (response.status !== 201) throw new Error(`write failed: ${response.status}`);
      return [at, performance.timeOrigin + performance.now()];
    }, title);
    const shown = await reader.waitForFunction((title) => (window as unknown as { __seen: Record<string, number> }).__seen[title], title, {
      timeout: 10_000,
      polling: 5,
    });
    const seen = (await shown.jsonValue()) as number;
    latencies.push(seen - started);
    afterAck.push(seen - acked);
    await writer.waitForTimeout(50);
  }
  expect(latencies).toHaveLength(WRITES);
  const dir = join(process.cwd(), "artifacts");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "bench.json"), JSON.stringify({ writes: WRITES, latencies_ms: latencies, after_ack_ms: afterAck }));
});
