// What serving costs beyond the request path itself: an app that answers in JSON must not load the modules Node
// keeps lazy for web APIs it does not use (fetch's undici alone is about 8 MB of resident memory).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const fixture = new URL("./fixtures/footprint-server.ts", import.meta.url).pathname;

async function serve(...args: string[]): Promise<{ statuses: number[]; loaded: string[] }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", fixture, ...args], { timeout: 30_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

test("a JSON app served over Node loads no web API module: not undici, not web streams", async () => {
  const { statuses, loaded } = await serve();
  assert.deepEqual(statuses, [200, 404, 422, 404, 201, 422, 422]);
  assert.deepEqual(
    loaded.filter((name) => /undici|webstreams/.test(name)),
    [],
  );
});

test("a route that answers with a web Response still works (and that is what loads undici)", async () => {
  const { statuses, loaded } = await serve("web");
  assert.equal(statuses.at(-1), 200);
  assert.ok(
    loaded.some((name) => name.includes("undici")),
    "the check above would see undici being loaded",
  );
});
