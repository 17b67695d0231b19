import { defineConfig } from "@playwright/test";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Browser tests in Debian's Chromium. By default against an embedded server started
// here, on a fresh data folder; TASKSTREAM_WEB_BASE_URL points them at a running
// instance instead (the distributed shape's gateway: only the tests tagged @gateway).
const port = Number(process.env.TASKSTREAM_WEB_TEST_PORT ?? 18080);
const external = process.env.TASKSTREAM_WEB_BASE_URL;
const dataDir = join(tmpdir(), `taskstream-browser-${port}`);

export default defineConfig({
  testDir: "tests",
  outputDir: "test-results",
  workers: 1,
  timeout: 180_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  grep: external ? /@gateway/ : process.env.TASKSTREAM_WEB_BENCH ? /@bench/ : undefined,
  grepInvert: process.env.TASKSTREAM_WEB_BENCH ? undefined : /@bench/,
  use: {
    baseURL: external ?? `http://127.0.0.1:${port}`,
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    timezoneId: "Europe/Paris",
    locale: "en-GB",
    viewport: { width: 1280, height: 800 },
    screenshot: "only-on-failure",
  },
  webServer: external
    ? undefined
    : {
        command: `rm -rf '${dataDir}' && exec .venv/bin/taskstream up --port ${port}`,
        cwd: "..",
        url: `http://127.0.0.1:${port}/readyz`,
        reuseExistingServer: false,
        timeout: 120_000,
        stdout: "ignore",
        stderr: "pipe",
        env: {
          TASKSTREAM_DATA_DIR: dataDir,
          TASKSTREAM_WEB_DIR: "frontend/out",
          TASKSTREAM_LOGIN_ATTEMPTS_PER_ADDRESS: "10000",
        },
      },
});
