// The README's runnable examples: every ```ts block that imports "briskjs/testing" is a complete program, run as
// it is written. The blocks are written inside the repository, so that "briskjs" resolves to this package.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SNIPPETS = join(REPO, "test", ".readme-snippets");

/** The subsections of "Building an API", each of which needs at least one runnable block. */
const FEATURES = [
  "Dependencies",
  "Security",
  "Routers and mounting",
  "Middleware",
  "Lifespan and state",
  "Background tasks",
  "Forms",
  "File uploads",
  "Streaming and Server-Sent Events",
  "Files and static files",
  "WebSockets",
  "Testing",
];

interface Snippet {
  /** The `##` section the block is in. */
  readonly section: string;
  /** The nearest heading above the block. */
  readonly heading: string;
  readonly code: string;
}

/** The ```ts blocks that import "briskjs/testing", with the heading each stands under. */
function runnableSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  let section = "";
  let heading = "";
  let open: { readonly fence: string; readonly ts: boolean; readonly lines: string[] } | undefined;
  for (const line of markdown.split("\n")) {
    if (open === undefined) {
      const fence = /^(`{3,})\s*(\S*)/.exec(line);
      if (fence !== null) open = { fence: fence[1]!, ts: fence[2] === "ts", lines: [] };
      else {
        const title = /^(#{2,3})\s+(.+?)\s*$/.exec(line);
        if (title?.[1] === "##") section = title[2]!;
        if (title !== null) heading = title[2]!;
      }
    } else if (line.trimEnd() === open.fence) {
      const code = open.lines.join("\n");
      if (open.ts && /from\s+["']briskjs\/testing["']/.test(code))
        snippets.push({ section, heading, code: `${code}\n` });
      open = undefined;
    } else open.lines.push(line);
  }
  return snippets;
}

const snippets = runnableSnippets(readFileSync(join(REPO, "README.md"), "utf8"));

before(() => mkdirSync(SNIPPETS, { recursive: true }));
after(() => rmSync(SNIPPETS, { recursive: true, force: true }));

test("every feature of 'Building an API' has a runnable example", () => {
  const covered = new Set(
    snippets.filter((snippet) => snippet.section === "Building an API").map((snippet) => snippet.heading),
  );
  const missing = FEATURES.filter((feature) => !covered.has(feature));
  assert.deepEqual(missing, [], `no runnable example under: ${missing.join(", ")}`);
});

snippets.forEach((snippet, index) => {
  test(`README: ${snippet.heading}`, () => {
    const file = join(SNIPPETS, `${index}.ts`);
    writeFileSync(file, snippet.code);
    const result = spawnSync(process.execPath, ["--import", "tsx", "--conditions=brisk-source", file], {
      cwd: REPO,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(
      result.status,
      0,
      `the example under "${snippet.heading}" failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}`,
    );
  });
});
