import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(directory, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(directory, entry.name)]
        : [],
  );
}

const codesIn = (text: string) => new Set(text.match(/BRISK_[A-Z_]+/g) ?? []);

test("every BriskError code raised in src/ is documented in docs/errors.md, and nothing stale is", () => {
  const used = new Set(
    sourceFiles(join(root, "src")).flatMap((file) => [...codesIn(readFileSync(file, "utf8"))]),
  );
  const documented = codesIn(readFileSync(join(root, "docs/errors.md"), "utf8"));
  assert.deepEqual([...used].sort(), [...documented].sort());
});
