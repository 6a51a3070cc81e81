// `brisk openapi <module>:<export> [-o file]`: the real CLI in a child process.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { app as items } from "../examples/items/app.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(REPO, "bin", "brisk.mjs");
const dir = mkdtempSync(join(tmpdir(), "brisk-openapi-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function brisk(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: "utf8", timeout: 30_000 });
}

describe("brisk openapi", () => {
  test("prints the app's document as indented JSON, the same bytes every time", () => {
    const first = brisk("openapi", "examples/items/app.ts:app");
    const second = brisk("openapi", "examples/items/app.ts:app");
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, second.stdout);
    assert.equal(first.stdout, `${JSON.stringify(items.openapi(), null, 2)}\n`);
  });

  test("-o writes the same text to a file and prints nothing", () => {
    const file = join(dir, "openapi.json");
    const written = brisk("openapi", "examples/items/app.ts:app", "-o", file);
    assert.equal(written.status, 0, written.stderr);
    assert.equal(written.stdout, "");
    assert.equal(readFileSync(file, "utf8"), brisk("openapi", "examples/items/app.ts:app").stdout);
  });

  test("a bad entrypoint is a one-line error and exit 1", () => {
    const result = brisk("openapi", "examples/items/app.ts:nothing");
    assert.equal(result.status, 1);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /^brisk: /);
  });

  test("serve refuses an invalid --forwarded-allow-ips or --root-path before listening", () => {
    const ips = brisk(
      "serve",
      "examples/items/app.ts:app",
      "--port",
      "0",
      "--forwarded-allow-ips",
      "10.0.0.300",
    );
    assert.equal(ips.status, 1);
    assert.match(ips.stderr, /10\.0\.0\.300/);
    const root = brisk("serve", "examples/items/app.ts:app", "--port", "0", "--root-path", "content");
    assert.equal(root.status, 1);
    assert.match(root.stderr, /--root-path must start with "\/"/);
  });
});
