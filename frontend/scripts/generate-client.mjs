// Generates the typed API client from the live OpenAPI document of the Python app:
//   src/api/openapi.json  the document, as `taskstream openapi` prints it
//   src/api/schema.ts     its TypeScript types (openapi-typescript), used by openapi-fetch
// With --check nothing is written: it exits 1 when either file is stale.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = join(here, "..");
const root = join(frontend, "..");
const check = process.argv.includes("--check");

const taskstream = process.env.TASKSTREAM_BIN ?? join(root, ".venv", "bin", "taskstream");
const document = execFileSync(taskstream, ["openapi"], { cwd: root, encoding: "utf8" });
const header =
  "// Generated from the OpenAPI document by scripts/generate-client.mjs: do not edit.\n" +
  "// Regenerate with `make web-client` (or `npm run generate` in frontend/).\n\n";
const types = header + astToString(await openapiTS(JSON.parse(document)));

const outputs = [
  [join(frontend, "src", "api", "openapi.json"), document.endsWith("\n") ? document : document + "\n"],
  [join(frontend, "src", "api", "schema.ts"), types],
];

let stale = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, "utf8") : null;
  if (current === text) continue;
  if (check) {
    console.error(`stale: ${path.slice(root.length + 1)} differs from the live OpenAPI document`);
    stale += 1;
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${path.slice(root.length + 1)}`);
  }
}
if (stale) {
  console.error("The generated API client is stale: run `make web-client` and commit the result.");
  process.exit(1);
}
if (check) console.log("the generated API client matches the OpenAPI document");
