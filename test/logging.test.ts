// Logs: the default logger's levels, formats, escaping and rate limit; the access log of `listen` and of
// `brisk serve` (`--log-format json`, `--log-level`, `--no-access-log`); and loggers that fail.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type AccessEntry,
  App,
  configureLogging,
  consoleLogger,
  formatAccess,
  type Logger,
  listen,
} from "briskjs";
import { escapeControls } from "../src/logger.ts";
import { call } from "./helpers/app.ts";
import { exitCode, freePort, launch, REPO, tempDir, waitForStdout } from "./helpers/cli.ts";

const DEADLINE = 10_000;

/** Points the default logger at an array for the duration of `run`, then back at standard error. */
async function capturing(
  options: Parameters<typeof configureLogging>[0],
  run: (lines: string[]) => Promise<void> | void,
): Promise<void> {
  const lines: string[] = [];
  configureLogging({ ...options, write: (line) => lines.push(line) });
  try {
    await run(lines);
  } finally {
    configureLogging({
      level: "info",
      format: "text",
      write: (line) => void process.stderr.write(`${line}\n`),
    });
  }
}

const ENTRY: AccessEntry = {
  client: "127.0.0.1:50000",
  method: "GET",
  target: "/items?x=1",
  httpVersion: "1.1",
  status: 200,
  bytes: 321,
  durationMs: 1.234,
};

describe("the default logger", () => {
  test("text: levels as prefixes, and below the level nothing", async () => {
    await capturing({ level: "warning" }, (lines) => {
      consoleLogger.info("hidden");
      consoleLogger.warn("careful");
      consoleLogger.error("broken", new Error("boom"));
      assert.equal(lines.length, 2);
      assert.equal(lines[0], "warning: careful");
      assert.match(lines[1]!, /^error: broken\nError: boom\n {4}at /);
    });
  });

  test("text: control characters from a request cannot forge a line or drive a terminal", async () => {
    await capturing({}, (lines) => {
      consoleLogger.warn("GET /a\r\nerror: forged\u001b[31m\u009b2J\\x41");
      assert.equal(lines.length, 1);
      assert.equal(lines[0], "warning: GET /a\\x0d\\x0aerror: forged\\x1b[31m\\x9b2J\\\\x41");
    });
    assert.equal(escapeControls("tab\there\u007f"), "tab\\x09here\\x7f");
  });

  test("json: one object per line, with time, level and message; the error's stack included", async () => {
    await capturing({ format: "json" }, (lines) => {
      consoleLogger.info("started");
      consoleLogger.error("failed \u009b", new Error("boom"));
      assert.equal(lines.length, 2);
      for (const line of lines) {
        assert.ok(
          ![...line].some((char) => char.charCodeAt(0) < 0x20 || (char >= "\u007f" && char <= "\u009f")),
        );
      }
      const [info, error] = lines.map((line) => JSON.parse(line));
      assert.equal(info.level, "info");
      assert.equal(info.message, "started");
      assert.ok(!Number.isNaN(Date.parse(info.time)));
      assert.equal(error.level, "error");
      assert.equal(error.message, "failed \u009b");
      assert.match(error.error, /^Error: boom\n {4}at /);
    });
  });

  test("debug and critical: below info unless --log-level debug; critical in text and JSON, with the stack", async () => {
    await capturing({}, (lines) => {
      consoleLogger.debug("a client left");
      consoleLogger.critical("escaped", new Error("boom"));
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /^critical: escaped\nError: boom\n {4}at /);
    });
    await capturing({ level: "debug", format: "json" }, (lines) => {
      consoleLogger.debug("a client left");
      consoleLogger.critical("escaped", new Error("boom"));
      const [debug, critical] = lines.map((line) => JSON.parse(line));
      assert.deepEqual([debug.level, debug.message], ["debug", "a client left"]);
      assert.deepEqual([critical.level, critical.message], ["critical", "escaped"]);
      assert.match(critical.error, /^Error: boom\n {4}at /);
    });
  });

  test("an app's own logger without debug or critical: debug entries are dropped, critical ones go to error", () => {
    const seen: string[] = [];
    const logger: Logger = {
      info: (message) => void seen.push(`info ${message}`),
      warn: (message) => void seen.push(`warn ${message}`),
      error: (message) => void seen.push(`error ${message}`),
    };
    const app = new App({ logger });
    app.logger.debug("a client left");
    app.logger.critical("escaped", new Error("boom"));
    assert.deepEqual(seen, ["error escaped"]);
  });

  test("error entries are rate-limited: at most 20 a second, the rest counted and reported", async () => {
    await capturing({}, async (lines) => {
      // Start at the beginning of a second, so the burst falls within one.
      await sleep(1000 - (Date.now() % 1000) + 5);
      for (let index = 0; index < 50; index++) consoleLogger.error(`failure ${index}`);
      assert.equal(lines.length, 20);
      await sleep(1000);
      consoleLogger.error("later");
      assert.equal(lines[20], "warning: 30 more error entries were not logged (at most 20 a second)");
      assert.equal(lines[21], "error: later");
    });
  });

  test("access entries: text and JSON", async () => {
    assert.equal(formatAccess(ENTRY), '127.0.0.1:50000 - "GET /items?x=1 HTTP/1.1" 200 321 B 1.2 ms');
    assert.equal(
      formatAccess({ ...ENTRY, target: '/a"b\u001b' }),
      '127.0.0.1:50000 - "GET /a\\x22b\\x1b HTTP/1.1" 200 321 B 1.2 ms',
    );
    await capturing({ format: "json" }, (lines) => {
      consoleLogger.access?.(ENTRY);
      const entry = JSON.parse(lines[0]!);
      assert.deepEqual(
        { ...entry, time: undefined },
        {
          time: undefined,
          level: "info",
          message: "request",
          client: "127.0.0.1:50000",
          method: "GET",
          target: "/items?x=1",
          http: "1.1",
          status: 200,
          bytes: 321,
          duration_ms: 1.234,
        },
      );
    });
    await capturing({ level: "warning" }, (lines) => {
      consoleLogger.access?.(ENTRY);
      assert.deepEqual(lines, []);
    });
  });
});

describe("the access log of listen()", () => {
  const closing: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closing) await close();
  });

  test("one entry per request, with what was sent; off unless asked for", async () => {
    const entries: AccessEntry[] = [];
    const logger: Logger = {
      info: () => {},
      warn: () => {},
      error: () => {},
      access: (entry) => entries.push(entry),
    };
    const app = new App({ logger });
    app.get("/hello", {}, () => ({ hello: "world" }));
    const server = await listen(app, { port: 0, accessLog: true });
    closing.push(server.close);
    const ok = await fetch(`${server.url}/hello?x=%0a`);
    const body = await ok.text();
    const missing = await fetch(`${server.url}/nowhere`);
    await missing.text();
    const until = Date.now() + DEADLINE;
    while (entries.length < 2 && Date.now() < until) await sleep(10);
    assert.equal(entries.length, 2);
    const [first, second] = entries;
    assert.equal(first!.method, "GET");
    assert.equal(first!.target, "/hello?x=%0a");
    assert.equal(first!.status, 200);
    assert.equal(first!.httpVersion, "1.1");
    assert.match(first!.client, /^127\.0\.0\.1:\d+$/);
    assert.ok(first!.bytes > body.length, "head and body counted");
    assert.ok(first!.durationMs >= 0);
    assert.equal(second!.status, 404);

    const quiet: AccessEntry[] = [];
    const quietApp = new App({
      logger: { info: () => {}, warn: () => {}, error: () => {}, access: (entry) => quiet.push(entry) },
    });
    quietApp.get("/hello", {}, () => "hi");
    const quietServer = await listen(quietApp, { port: 0 });
    closing.push(quietServer.close);
    await (await fetch(`${quietServer.url}/hello`)).text();
    await sleep(50);
    assert.deepEqual(quiet, []);
  });

  test("a logger without `access` gets a line of text through `info`", async () => {
    const infos: string[] = [];
    const app = new App({ logger: { info: (line) => infos.push(line), warn: () => {}, error: () => {} } });
    app.get("/x", {}, () => "x");
    const server = await listen(app, { port: 0, accessLog: true });
    closing.push(server.close);
    await (await fetch(`${server.url}/x`)).text();
    const until = Date.now() + DEADLINE;
    while (infos.length === 0 && Date.now() < until) await sleep(10);
    assert.match(infos[0]!, /^127\.0\.0\.1:\d+ - "GET \/x HTTP\/1\.1" 200 \d+ B \d+\.\d ms$/);
  });
});

describe("a logger that fails", () => {
  test("cannot turn a handled error into a crash: the client still gets its 500", async () => {
    const app = new App({
      logger: {
        info: () => {
          throw new Error("logger down");
        },
        warn: () => {
          throw new Error("logger down");
        },
        error: () => {
          throw new Error("logger down");
        },
      },
    });
    app.get("/bug", {}, () => {
      throw new Error("a bug");
    });
    const response = await call(app, "/bug");
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { detail: "Internal Server Error" });
  });
});

describe("brisk serve's log options", () => {
  async function serveAndGet(args: readonly string[]): Promise<{ stderr: string }> {
    const port = await freePort();
    const served = launch(["serve", "examples/greetings/app.ts:app", "--port", String(port), ...args], REPO);
    try {
      await waitForStdout(served, /serving/);
      await (await fetch(`http://127.0.0.1:${port}/greetings/en`)).text();
      await (await fetch(`http://127.0.0.1:${port}/greetings/zz`)).text();
      await sleep(200);
    } finally {
      served.child.kill("SIGTERM");
    }
    assert.equal(await exitCode(served), 0);
    return { stderr: served.stderr() };
  }

  test("the access log is on by default, in text", async () => {
    const { stderr } = await serveAndGet([]);
    assert.match(stderr, /127\.0\.0\.1:\d+ - "GET \/greetings\/en HTTP\/1\.1" 200 \d+ B/);
    assert.match(stderr, /"GET \/greetings\/zz HTTP\/1\.1" 404/);
  });

  test("--log-format json writes JSON lines; --no-access-log and --log-level warning silence requests", async () => {
    const json = await serveAndGet(["--log-format", "json"]);
    const entries = json.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    const requests = entries.filter((entry) => entry.message === "request");
    assert.deepEqual(
      requests.map((entry) => [entry.method, entry.target, entry.status]),
      [
        ["GET", "/greetings/en", 200],
        ["GET", "/greetings/zz", 404],
      ],
    );
    for (const args of [["--no-access-log"], ["--log-level", "warning"]]) {
      const { stderr } = await serveAndGet(args);
      assert.doesNotMatch(stderr, /GET \/greetings/, args.join(" "));
    }
  });

  test("under --log-format json every line the process writes is JSON: the command's own, requests, errors, Node's warnings", async () => {
    const dir = tempDir();
    // The app imports the built brisk, as an installed app does: the one module instance the command configures.
    writeFileSync(
      join(dir, "app.ts"),
      `import { App } from ${JSON.stringify(join(REPO, "dist", "index.js"))};
process.emitWarning("a warning of Node's");
export const app = new App();
app.get("/ok", {}, () => ({ ok: true }));
app.get("/bug", {}, () => {
  throw new Error("a bug");
});`,
    );
    for (const workers of ["1", "2"]) {
      const port = await freePort();
      const served = launch(
        ["serve", "app.ts:app", "--port", String(port), "--workers", workers, "--log-format", "json"],
        dir,
      );
      try {
        await waitForStdout(served, /"message":"serving app\.ts:app at /);
        assert.equal((await fetch(`http://127.0.0.1:${port}/ok`)).status, 200);
        assert.equal((await fetch(`http://127.0.0.1:${port}/bug`)).status, 500);
        await sleep(200);
      } finally {
        served.child.kill("SIGTERM");
      }
      assert.equal(await exitCode(served), 0, served.output());
      const lines = `${served.stdout()}${served.stderr()}`.split("\n").filter((line) => line !== "");
      const entries = lines.map((line) => {
        assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
        return JSON.parse(line) as Record<string, unknown>;
      });
      const own = entries.filter((entry) => entry.logger === "brisk").map((entry) => entry.message);
      assert.ok(
        own.some((message) => /^serving app\.ts:app at http:/.test(String(message))),
        own.join("; "),
      );
      assert.ok(own.includes("stopped"), own.join("; "));
      assert.ok(
        entries.some(
          (entry) => entry.level === "warning" && /a warning of Node's/.test(String(entry.message)),
        ),
      );
      assert.ok(entries.some((entry) => entry.level === "error" && /Error: a bug/.test(String(entry.error))));
      assert.ok(entries.some((entry) => entry.message === "request" && entry.target === "/ok"));
    }
  });

  test("bad values are refused", async () => {
    for (const args of [
      ["--log-level", "loud"],
      ["--log-format", "xml"],
      ["--access-log", "--no-access-log"],
    ]) {
      const served = launch(["serve", "examples/greetings/app.ts:app", "--port", "0", ...args], REPO);
      assert.equal(await exitCode(served), 1, args.join(" "));
      assert.match(served.stderr(), /^brisk: --/, args.join(" "));
    }
  });
});
