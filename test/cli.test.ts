// End-to-end tests of `brisk serve`: the real CLI in a child process, spoken to over real sockets.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  closeServer,
  exitCode,
  freePort,
  INDEX,
  killGroup,
  type Launched,
  launch,
  listenOn,
  REPO,
  tempDir,
  waitForStdout,
  writeAppModule,
} from "./helpers/cli.ts";

const REQUEST_TIMEOUT_MS = 15_000;

/** A running `brisk serve`. */
interface Running extends Launched {
  readonly url: string;
  /** Sends SIGTERM and resolves with the exit code; rejects if the process does not exit in time. */
  stop(): Promise<number | null>;
}

const SERVING = /^brisk: serving (\S+) at (http:\/\/\S+?)\r?$/m;

/** Starts `brisk serve ...args` and resolves once it prints `brisk: serving <entrypoint> at <url>`. */
async function startServer(args: readonly string[], options: { cwd?: string } = {}): Promise<Running> {
  const process_ = launch(["serve", ...args], options.cwd);
  const [, entrypoint, url = ""] = await waitForStdout(process_, SERVING);
  assert.equal(entrypoint, args[0], `the serving line names the entrypoint\n${process_.output()}`);
  return {
    ...process_,
    url,
    stop: async () => {
      if (process_.child.exitCode === null && process_.child.signalCode === null) {
        process_.child.kill("SIGTERM");
      }
      return exitCode(process_);
    },
  };
}

/** Runs the CLI to completion. */
async function runCli(
  args: readonly string[],
  cwd: string = REPO,
): Promise<{ code: number | null; stdout: string; stderr: string; output: string }> {
  const process_ = launch(args, cwd);
  const code = await exitCode(process_);
  return { code, stdout: process_.stdout(), stderr: process_.stderr(), output: process_.output() };
}

/** Asserts that `text` is exactly one non-empty line (a trailing newline allowed) and returns it. */
function oneLine(text: string, output: string): string {
  const lines = text.replace(/\r?\n$/, "").split(/\r?\n/);
  assert.equal(lines.length, 1, `expected a one-line message, got ${lines.length} lines\n${output}`);
  const [line = ""] = lines;
  assert.notEqual(line.trim(), "", `expected a message on stderr\n${output}`);
  return line;
}

/** True if a TCP connection to the URL's host and port is accepted. */
function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(5_000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every 100 ms until it returns true; fails with `describe()` after `ms`. */
async function eventually(probe: () => Promise<boolean>, ms: number, describe_: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) assert.fail(`not true within ${ms} ms: ${describe_()}`);
    await sleep(100);
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body (undefined when the body is empty). */
  readonly body: unknown;
}

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...init });
  const text = await response.text();
  let body: unknown;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`${init.method ?? "GET"} ${url}: the body is not JSON: ${text}`);
    }
  }
  return { status: response.status, headers: response.headers, text, body };
}

function postJson(url: string, value: unknown): Promise<Answer> {
  return request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  });
}

describe("brisk serve examples/items/app.ts:app", () => {
  let server: Running;
  let base = "";

  before(async () => {
    server = await startServer(["examples/items/app.ts:app", "--port", "0"]);
    base = server.url;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
  after(async () => {
    if (server !== undefined) killGroup(server.child);
  });

  test("POST /items answers 201 with the stored item, ids counting from 1", async () => {
    for (const [id, name, price] of [
      [1, "apple", 1.5],
      [2, "pear", 2],
      [3, "plum", 0.25],
    ] as const) {
      const answer = await postJson(`${base}/items`, { name, price });
      assert.equal(answer.status, 201, answer.text);
      assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(answer.body, { id, name, price, tags: [] });
    }
  });

  test("description is optional, and returned when given", async () => {
    const answer = await postJson(`${base}/items`, {
      name: "fig",
      price: 3,
      tags: ["fruit", "dried"],
      description: "sweet",
    });
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(answer.body, {
      id: 4,
      name: "fig",
      price: 3,
      tags: ["fruit", "dried"],
      description: "sweet",
    });
  });

  test("extra keys in the body are not echoed back", async () => {
    const answer = await postJson(`${base}/items`, {
      name: "kiwi",
      price: 1,
      secret: "do not echo",
      id: 999,
      nested: { a: 1 },
    });
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(answer.body, { id: 5, name: "kiwi", price: 1, tags: [] });
  });

  test("an invalid body answers 422 with FastAPI's error body", async () => {
    const invalid = await postJson(`${base}/items`, { name: "", price: 0 });
    assert.equal(invalid.status, 422, invalid.text);
    assert.match(invalid.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(invalid.body, {
      detail: [
        {
          type: "string_too_short",
          loc: ["body", "name"],
          msg: "String should have at least 1 character",
          input: "",
          ctx: { min_length: 1 },
        },
        {
          type: "greater_than",
          loc: ["body", "price"],
          msg: "Input should be greater than 0",
          input: 0,
          ctx: { gt: 0 },
        },
      ],
    });

    const tags = Array.from({ length: 11 }, (_, index) => `t${index}`);
    const tooMany = await postJson(`${base}/items`, { name: "x", price: 1, tags });
    assert.equal(tooMany.status, 422, tooMany.text);
    assert.deepEqual(tooMany.body, {
      detail: [
        {
          type: "too_long",
          loc: ["body", "tags"],
          msg: "List should have at most 10 items after validation, not 11",
          input: tags,
          ctx: { field_type: "List", max_length: 10, actual_length: 11 },
        },
      ],
    });

    const missing = await postJson(`${base}/items`, { price: 1 });
    assert.equal(missing.status, 422, missing.text);
    assert.deepEqual(missing.body, {
      detail: [{ type: "missing", loc: ["body", "name"], msg: "Field required", input: { price: 1 } }],
    });

    const noBody = await request(`${base}/items`, { method: "POST" });
    assert.equal(noBody.status, 422, noBody.text);
    assert.deepEqual(noBody.body, {
      detail: [{ type: "missing", loc: ["body"], msg: "Field required", input: null }],
    });
  });

  test("GET /items pages through the items, 10 from 0 by default", async () => {
    const all = await request(`${base}/items`);
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.body, {
      limit: 10,
      offset: 0,
      total: 5,
      items: [
        { id: 1, name: "apple", price: 1.5, tags: [] },
        { id: 2, name: "pear", price: 2, tags: [] },
        { id: 3, name: "plum", price: 0.25, tags: [] },
        { id: 4, name: "fig", price: 3, tags: ["fruit", "dried"], description: "sweet" },
        { id: 5, name: "kiwi", price: 1, tags: [] },
      ],
    });

    const page = await request(`${base}/items?limit=2&offset=1`);
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.body, {
      limit: 2,
      offset: 1,
      total: 5,
      items: [
        { id: 2, name: "pear", price: 2, tags: [] },
        { id: 3, name: "plum", price: 0.25, tags: [] },
      ],
    });

    const past = await request(`${base}/items?offset=10`);
    assert.equal(past.status, 200, past.text);
    assert.deepEqual(past.body, { limit: 10, offset: 10, total: 5, items: [] });
  });

  test("GET /items with invalid limit or offset answers 422", async () => {
    const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
      [
        "limit=0",
        {
          type: "greater_than_equal",
          loc: ["query", "limit"],
          msg: "Input should be greater than or equal to 1",
          input: "0",
          ctx: { ge: 1 },
        },
      ],
      [
        "limit=101",
        {
          type: "less_than_equal",
          loc: ["query", "limit"],
          msg: "Input should be less than or equal to 100",
          input: "101",
          ctx: { le: 100 },
        },
      ],
      [
        "offset=-1",
        {
          type: "greater_than_equal",
          loc: ["query", "offset"],
          msg: "Input should be greater than or equal to 0",
          input: "-1",
          ctx: { ge: 0 },
        },
      ],
      [
        "limit=abc",
        {
          type: "int_parsing",
          loc: ["query", "limit"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "abc",
        },
      ],
    ];
    for (const [search, error] of cases) {
      const answer = await request(`${base}/items?${search}`);
      assert.equal(answer.status, 422, `${search}: ${answer.text}`);
      assert.deepEqual(answer.body, { detail: [error] }, search);
    }
  });

  test("GET /items/{item_id} finds an item, 404s a missing one, 422s a non-integer", async () => {
    const found = await request(`${base}/items/4`);
    assert.equal(found.status, 200, found.text);
    assert.deepEqual(found.body, {
      id: 4,
      name: "fig",
      price: 3,
      tags: ["fruit", "dried"],
      description: "sweet",
    });

    const first = await request(`${base}/items/1`);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body, { id: 1, name: "apple", price: 1.5, tags: [] });

    const missing = await request(`${base}/items/999`);
    assert.equal(missing.status, 404, missing.text);
    assert.deepEqual(missing.body, { detail: "Item 999 not found" });

    const notInt = await request(`${base}/items/abc`);
    assert.equal(notInt.status, 422, notInt.text);
    assert.deepEqual(notInt.body, {
      detail: [
        {
          type: "int_parsing",
          loc: ["path", "item_id"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "abc",
        },
      ],
    });
  });

  test("SIGTERM stops the server with exit code 0", async () => {
    assert.equal(await server.stop(), 0, server.output());
    assert.equal(await canConnect(base), false, "the port is closed after exit");
  });
});

describe("brisk serve examples/greetings/app.ts:app", () => {
  let server: Running;
  let base = "";
  const file = JSON.parse(
    readFileSync(join(REPO, "examples", "greetings", "greetings.json"), "utf8"),
  ) as Record<string, string>;

  before(async () => {
    server = await startServer(["examples/greetings/app.ts:app", "--port", "0"]);
    base = server.url;
  });
  after(async () => {
    if (server !== undefined) killGroup(server.child);
  });

  test("GET /greetings lists the seven greetings of greetings.json, sorted by language", async () => {
    const answer = await request(`${base}/greetings`);
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
    const expected = Object.keys(file)
      .sort()
      .map((lang) => ({ lang, text: file[lang] }));
    assert.deepEqual(answer.body, expected);
    assert.ok(Array.isArray(answer.body));
    assert.deepEqual(
      answer.body.map((greeting: { lang: string }) => greeting.lang),
      ["ar", "bn", "chr", "en", "es", "sw", "zh"],
    );
  });

  test("GET /greetings/en and non-ASCII text", async () => {
    const en = await request(`${base}/greetings/en`);
    assert.equal(en.status, 200, en.text);
    assert.equal(en.text, '{"lang":"en","text":"Hello"}');

    const zh = await request(`${base}/greetings/zh`);
    assert.equal(zh.status, 200, zh.text);
    assert.deepEqual(zh.body, { lang: "zh", text: "你好" });
    assert.match(zh.headers.get("content-type") ?? "", /^application\/json/);

    for (const lang of Object.keys(file)) {
      const answer = await request(`${base}/greetings/${lang}`);
      assert.equal(answer.status, 200, `${lang}: ${answer.text}`);
      assert.deepEqual(answer.body, { lang, text: file[lang] });
    }
  });

  test("a percent-encoded path is decoded before matching", async () => {
    const answer = await request(`${base}/greetings/%65%6E`);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body, { lang: "en", text: "Hello" });
  });

  test("unknown languages answer 404 with a detail string, Object's own properties included", async () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["fr", "fr"],
      ["constructor", "constructor"],
      ["__proto__", "__proto__"],
      ["toString", "toString"],
      ["hasOwnProperty", "hasOwnProperty"],
      ["valueOf", "valueOf"],
      ["%E4%B8%AD%E6%96%87", "中文"],
      ["%C3%A9", "é"],
    ];
    for (const [segment, lang] of cases) {
      const answer = await request(`${base}/greetings/${segment}`);
      assert.equal(answer.status, 404, `${segment}: ${answer.text}`);
      assert.ok(
        typeof answer.body === "object" && answer.body !== null && "detail" in answer.body,
        `${segment}: ${answer.text}`,
      );
      const { detail } = answer.body;
      assert.equal(typeof detail, "string", `${segment}: ${answer.text}`);
      assert.deepEqual(answer.body, { detail: `No greeting for '${lang}'` }, segment);
    }
  });

  test("HEAD /greetings answers 200 with no body", async () => {
    const answer = await request(`${base}/greetings`, { method: "HEAD" });
    assert.equal(answer.status, 200);
    assert.equal(answer.text, "");
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
  });

  test("SIGTERM stops the server with exit code 0", async () => {
    assert.equal(await server.stop(), 0, server.output());
  });
});

describe("entrypoint resolution", () => {
  test("the module's extension may be left out", async () => {
    const server = await startServer(["examples/items/app:app", "--port", "0"]);
    try {
      const answer = await request(`${server.url}/items`);
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.body, { limit: 10, offset: 0, total: 0, items: [] });
      assert.equal(await server.stop(), 0, server.output());
    } finally {
      killGroup(server.child);
    }
  });

  test("a missing export falls back to the default export (relative and absolute module paths)", async () => {
    const dir = tempDir();
    const file = writeAppModule(
      dir,
      "fallback.ts",
      `const app = new App();\napp.get("/hello", {}, () => ({ hello: "from the default export" }));\nexport default app;`,
    );
    for (const [entrypoint, cwd] of [
      ["fallback.ts:nothere", dir],
      ["fallback:nothere", dir],
      [`${file}:nothere`, REPO],
    ] as const) {
      const server = await startServer([entrypoint, "--port", "0"], { cwd });
      try {
        const answer = await request(`${server.url}/hello`);
        assert.equal(answer.status, 200, `${entrypoint}: ${answer.text}`);
        assert.deepEqual(answer.body, { hello: "from the default export" });
        assert.equal(await server.stop(), 0, server.output());
      } finally {
        killGroup(server.child);
      }
    }
  });

  test("a .ts entrypoint in a directory without a package.json (CommonJS by default) is served", async () => {
    const dir = tempDir({ esm: false });
    writeAppModule(
      dir,
      "app.ts",
      `export const app = new App();\napp.get("/hello", {}, () => ({ hello: "without a package.json" }));`,
    );
    const server = await startServer(["app.ts:app", "--port", "0"], { cwd: dir });
    try {
      const answer = await request(`${server.url}/hello`);
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.body, { hello: "without a package.json" });
      assert.equal(await server.stop(), 0, server.output());
    } finally {
      killGroup(server.child);
    }
  });

  test("a JavaScript entrypoint runs on Node alone; a TypeScript one registers tsx", async () => {
    const dir = tempDir();
    // tsx's CommonJS hooks add ".ts" to require.extensions: the app reports whether a TypeScript loader is present.
    const app = (brisk: string) =>
      `import { createRequire } from "node:module";\nimport { App } from ${JSON.stringify(brisk)};\n` +
      "export const app = new App();\n" +
      'app.get("/loader", {}, () => ({ typescript: ".ts" in createRequire(import.meta.url).extensions }));\n';
    writeFileSync(join(dir, "compiled.mjs"), app(join(REPO, "dist", "index.js")));
    writeFileSync(join(dir, "source.ts"), app(INDEX));
    for (const [entrypoint, typescript] of [
      ["compiled.mjs:app", false],
      ["compiled:app", false],
      ["source.ts:app", true],
    ] as const) {
      const server = await startServer([entrypoint, "--port", "0"], { cwd: dir });
      try {
        const answer = await request(`${server.url}/loader`);
        assert.equal(answer.status, 200, `${entrypoint}: ${answer.text}`);
        assert.deepEqual(answer.body, { typescript }, entrypoint);
        assert.equal(await server.stop(), 0, server.output());
      } finally {
        killGroup(server.child);
      }
    }
  });

  test("a module that does not exist: exit 1 and one line naming the module and the paths tried", async () => {
    const result = await runCli(["serve", "examples/nope/app:app", "--port", "0"]);
    assert.equal(result.code, 1, result.output);
    assert.doesNotMatch(result.stdout, SERVING);
    const line = oneLine(result.stderr, result.output);
    assert.match(line, /examples\/nope\/app/, result.output);
    for (const tried of ["app.ts", "app.js", "app.mjs"]) {
      assert.ok(line.includes(`examples/nope/${tried}`), `the message lists ${tried}\n${result.output}`);
    }
  });

  test("a missing export and no default export: exit 1 and one line naming the module and the export", async () => {
    const result = await runCli(["serve", "examples/items/app.ts:nope", "--port", "0"]);
    assert.equal(result.code, 1, result.output);
    assert.doesNotMatch(result.stdout, SERVING);
    const line = oneLine(result.stderr, result.output);
    assert.ok(line.includes("examples/items/app.ts"), `the message names the module\n${result.output}`);
    assert.match(line, /\bnope\b/, `the message names the export\n${result.output}`);
  });

  test("an export that is not an App: exit 1 and one line", async () => {
    const dir = tempDir();
    writeAppModule(
      dir,
      "notapp.ts",
      `export const server = { title: "not an app", routes: [] };\nexport default new App();`,
    );
    const result = await runCli(["serve", "notapp.ts:server", "--port", "0"], dir);
    assert.equal(result.code, 1, result.output);
    assert.doesNotMatch(result.stdout, SERVING);
    const line = oneLine(result.stderr, result.output);
    assert.match(line, /notapp\.ts:server/, `the message names the module and the export\n${result.output}`);
    assert.match(line, /\bApp\b/, `the message says an App was expected\n${result.output}`);
  });
});

describe("command line flags", () => {
  test("--help prints the usage and exits 0", async () => {
    for (const args of [["--help"], ["-h"], ["serve", "--help"]]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.output);
      assert.match(result.stdout, /^Usage: brisk serve <module>:<export>/m, result.output);
      assert.match(result.stdout, /--host/, result.output);
      assert.match(result.stdout, /--port/, result.output);
      assert.match(result.stdout, /--reload/, result.output);
      assert.equal(result.stderr, "", result.output);
    }
  });

  test("--host and --port choose the address", async () => {
    const port = await freePort();
    const server = await startServer([
      "examples/greetings/app.ts:app",
      "--host",
      "127.0.0.1",
      "--port",
      `${port}`,
    ]);
    try {
      assert.equal(server.url, `http://127.0.0.1:${port}`);
      const answer = await request(`${server.url}/greetings/en`);
      assert.deepEqual(answer.body, { lang: "en", text: "Hello" });
      assert.equal(await server.stop(), 0, server.output());
    } finally {
      killGroup(server.child);
    }
  });

  test("--no-fast-lane serves the app with Node's parser alone, the same answers", async () => {
    const server = await startServer(["examples/greetings/app.ts:app", "--port", "0", "--no-fast-lane"]);
    try {
      const answer = await request(`${server.url}/greetings/en`);
      assert.deepEqual(answer.body, { lang: "en", text: "Hello" });
      assert.equal(await server.stop(), 0, server.output());
    } finally {
      killGroup(server.child);
    }
  });

  test("--port that is not a port number: exit 1 and one line", async () => {
    for (const port of ["abc", "70000", "80.5", ""]) {
      const result = await runCli(["serve", "examples/items/app.ts:app", "--port", port]);
      assert.equal(result.code, 1, result.output);
      assert.doesNotMatch(result.stdout, SERVING);
      const line = oneLine(result.stderr, result.output);
      assert.match(line, /--port/, result.output);
      assert.ok(line.includes(port), `the message shows the bad value\n${result.output}`);
    }
  });

  test("--port without a value, or with one that starts with a dash: exit 1 and one line", async () => {
    for (const args of [["--port"], ["--port", "-1"]]) {
      const result = await runCli(["serve", "examples/items/app.ts:app", ...args]);
      assert.equal(result.code, 1, result.output);
      assert.doesNotMatch(result.stdout, SERVING);
      const line = oneLine(result.stderr, result.output);
      assert.match(line, /--port/, result.output);
    }
  });

  test("a port already in use: exit 1 and one line", async () => {
    const blocker = await listenOn(0);
    try {
      const address = blocker.address();
      assert.ok(address !== null && typeof address === "object");
      const result = await runCli(["serve", "examples/items/app.ts:app", "--port", `${address.port}`]);
      assert.equal(result.code, 1, result.output);
      assert.doesNotMatch(result.stdout, SERVING);
      const line = oneLine(result.stderr, result.output);
      assert.ok(line.includes(`${address.port}`), `the message names the port\n${result.output}`);
    } finally {
      await closeServer(blocker);
    }
  });

  test("an unknown command or a missing entrypoint: exit 1 and one line", async () => {
    for (const args of [["frobnicate"], ["serve"], ["serve", "examples/items/app.ts:app", "extra"]]) {
      const result = await runCli(args);
      assert.equal(result.code, 1, result.output);
      oneLine(result.stderr, result.output);
    }
  });
});

/**
 * The lines of an app module's `GET /slow`: it prints "slow: started", then answers once the test creates the
 * `release` file (or after 30 s), so that a test can check the server while a request is certainly in flight,
 * without depending on timing. The module imports `existsSync` from node:fs.
 */
function slowRoute(release: string): string[] {
  return [
    `app.get("/slow", {}, async () => {`,
    `  console.log("slow: started");`,
    "  const deadline = Date.now() + 30_000;",
    `  while (!existsSync(${JSON.stringify(release)}) && Date.now() < deadline) {`,
    "    await new Promise((resolve) => setTimeout(resolve, 20));",
    "  }",
    "  return { done: true };",
    "});",
  ];
}

describe("graceful shutdown", () => {
  test("SIGTERM lets an in-flight request finish, refuses new connections, then exits 0", async () => {
    const dir = tempDir();
    const release = join(dir, "release");
    writeAppModule(
      dir,
      "slow.ts",
      [
        `import { existsSync } from "node:fs";`,
        "export const app = new App();",
        `app.get("/fast", {}, () => ({ fast: true }));`,
        ...slowRoute(release),
      ].join("\n"),
    );
    const server = await startServer(["slow.ts:app", "--port", "0"], { cwd: dir });
    try {
      // An idle keep-alive connection must not hold up the shutdown.
      const fast = await request(`${server.url}/fast`);
      assert.deepEqual(fast.body, { fast: true });

      const slow = request(`${server.url}/slow`, { signal: AbortSignal.timeout(60_000) });
      slow.catch(() => {});
      await waitForStdout(server, /^slow: started$/m);
      server.child.kill("SIGTERM");

      await eventually(
        async () => !(await canConnect(server.url)),
        10_000,
        () => `new connections are refused after SIGTERM\n${server.output()}`,
      );
      assert.equal(server.child.exitCode, null, `still draining the slow request\n${server.output()}`);

      writeFileSync(release, "");
      const answer = await slow;
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.body, { done: true });
      assert.equal(await exitCode(server), 0, server.output());
    } finally {
      writeFileSync(release, "");
      killGroup(server.child);
    }
  });
});

describe("the last line of defence: errors that escape every handler", () => {
  /** The app of these tests: a bug on demand, and a slow request to show what happens to requests in flight. */
  function bugsApp(dir: string, release: string): void {
    writeAppModule(
      dir,
      "bugs.ts",
      [
        `import { existsSync } from "node:fs";`,
        "export const app = new App();",
        `app.get("/ok", {}, () => ({ ok: true }));`,
        "// A promise the handler lets go of: nobody handles its rejection.",
        `app.get("/dropped-promise", {}, () => {`,
        `  void Promise.reject(new Error("rejected where nobody listens"));`,
        "  return { dropped: true };",
        "});",
        "// A throw in a timer callback: outside any request, nothing can catch it.",
        `app.get("/timer-throw", {}, () => {`,
        `  setTimeout(() => { throw new Error("thrown in a timer"); }, 10);`,
        "  return { armed: true };",
        "});",
        ...slowRoute(release),
      ].join("\n"),
    );
  }

  test("an unhandled rejection is logged at critical with its stack, and the process goes on serving", async () => {
    const dir = tempDir();
    bugsApp(dir, join(dir, "release"));
    const server = await startServer(["bugs.ts:app", "--port", "0"], { cwd: dir });
    try {
      assert.deepEqual((await request(`${server.url}/dropped-promise`)).body, { dropped: true });
      await eventually(
        async () => /^critical: an unhandled promise rejection/m.test(server.stderr()),
        10_000,
        () => `a critical entry\n${server.output()}`,
      );
      assert.match(server.stderr(), /Error: rejected where nobody listens\n\s+at /, "with its stack");
      assert.deepEqual((await request(`${server.url}/ok`)).body, { ok: true });
      assert.equal(server.child.exitCode, null, server.output());
    } finally {
      killGroup(server.child);
    }
  });

  test("an uncaught exception is logged at critical; the process stops accepting, finishes in-flight requests, and exits 1", async () => {
    const dir = tempDir();
    const release = join(dir, "release");
    bugsApp(dir, release);
    const server = await startServer(["bugs.ts:app", "--port", "0"], { cwd: dir });
    try {
      const slow = request(`${server.url}/slow`, { signal: AbortSignal.timeout(60_000) });
      slow.catch(() => {});
      await waitForStdout(server, /^slow: started$/m);
      assert.deepEqual((await request(`${server.url}/timer-throw`)).body, { armed: true });
      await eventually(
        async () => !(await canConnect(server.url)),
        10_000,
        () => `new connections are refused after the uncaught exception\n${server.output()}`,
      );
      assert.match(server.stderr(), /^critical: an uncaught exception reached the process/m);
      assert.match(server.stderr(), /Error: thrown in a timer\n\s+at /, "with its stack");
      assert.equal(server.child.exitCode, null, `still draining the slow request\n${server.output()}`);
      writeFileSync(release, "");
      const answer = await slow;
      assert.deepEqual(answer.body, { done: true });
      assert.equal(await exitCode(server), 1, server.output());
    } finally {
      writeFileSync(release, "");
      killGroup(server.child);
    }
  });
});

describe("--reload", () => {
  test("restarts when the app's file changes, and leaves no process behind on SIGTERM", async () => {
    const dir = tempDir();
    const version = (n: number) =>
      `export const app = new App();\napp.get("/version", {}, () => ({ version: ${n} }));`;
    const file = writeAppModule(dir, "app.ts", version(1));
    const port = await freePort();
    const server = await startServer(["app.ts:app", "--port", `${port}`, "--reload"], { cwd: dir });
    const pid = server.child.pid;
    assert.ok(pid !== undefined);
    try {
      assert.equal(server.url, `http://127.0.0.1:${port}`);
      const first = await request(`${server.url}/version`);
      assert.deepEqual(first.body, { version: 1 }, server.output());

      writeAppModule(dir, "app.ts", version(2));
      assert.ok(readFileSync(file, "utf8").includes("version: 2"));
      let last = "";
      await eventually(
        async () => {
          try {
            const answer = await request(`${server.url}/version`, { signal: AbortSignal.timeout(2_000) });
            last = answer.text;
            return answer.status === 200 && answer.text === '{"version":2}';
          } catch (error) {
            last = String(error);
            return false;
          }
        },
        15_000,
        () => `the answer changes to {"version":2} (last: ${last})\n${server.output()}`,
      );

      assert.equal(await server.stop(), 0, server.output());
      // Nothing of the process group is left: the server the reloader started has exited too.
      await eventually(
        async () => {
          try {
            process.kill(-pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        5_000,
        () => `no process is left in the reloader's process group\n${server.output()}`,
      );
      const again = await listenOn(port);
      await closeServer(again);
    } finally {
      killGroup(server.child);
    }
  });
});
