// The lifespan: startup before requests, state for handlers and dependencies, shutdown after in-flight requests;
// in process (`app.start`/`app.stop`), through `listen`, and through `brisk serve` in a child process.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, dependency, isBriskError, type Lifespan, type Logger, listen, Router } from "briskjs";
import { asState, call, expectJson, stateRecord } from "./helpers/app.ts";
import {
  closeServer,
  exitCode,
  freePort,
  launch,
  listenOn,
  tempDir,
  waitForStdout,
  writeAppModule,
} from "./helpers/cli.ts";

const SERVING = /^brisk: serving \S+ at (http:\/\/\S+?)\r?$/m;

/** A logger that keeps the errors brisk reports. */
function recordingLogger(): Logger & { readonly errors: unknown[] } {
  const errors: unknown[] = [];
  return { errors, info: () => {}, warn: () => {}, error: (_message, error) => void errors.push(error) };
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => isBriskError(error) && error.code === code;
}

/** A lifespan that logs `<name> up` and `<name> down` and yields `state`. */
function logged(log: string[], name: string, state: Record<string, unknown> = {}): Lifespan {
  return async function* () {
    log.push(`${name} up`);
    yield asState(state);
    log.push(`${name} down`);
  };
}

describe("state", () => {
  test("what the lifespan yields reaches handlers and dependencies as `state`", async () => {
    const settings = dependency(({ state }) => `settings of ${stateRecord(state).name}`);
    const app = new App({
      lifespan: async function* () {
        yield asState({ name: "db", pool: { size: 2 } });
      },
    }).get("/", { deps: { settings } }, ({ state, settings }) => ({ state, settings }));
    assert.deepEqual(await app.start(), { name: "db", pool: { size: 2 } });
    await expectJson(await call(app, "/"), 200, {
      state: { name: "db", pool: { size: 2 } },
      settings: "settings of db",
    });
    await app.stop();
  });

  test("the lifespan receives the app, and a sync generator works too", async () => {
    let received: App | undefined;
    const app = new App({
      lifespan: function* (app) {
        received = app;
        yield asState({ sync: true });
      },
    }).get("/", {}, ({ state }) => state);
    await app.start();
    assert.equal(received, app);
    await expectJson(await call(app, "/"), 200, { sync: true });
    await app.stop();
  });

  test("yielding nothing gives an empty state", async () => {
    const app = new App({
      lifespan: async function* () {
        yield;
      },
    }).get("/", {}, ({ state }) => state);
    assert.deepEqual(await app.start(), {});
    await expectJson(await call(app, "/"), 200, {});
    await app.stop();
  });

  test("an app without a lifespan has {} as state, started or not", async () => {
    const seen = dependency(({ state }) => state);
    const app = new App().get("/", { deps: { seen } }, ({ state, seen }) => ({ state, seen }));
    await expectJson(await call(app, "/"), 200, { state: {}, seen: {} });
    assert.deepEqual(await app.start(), {});
    await app.stop();
  });

  test("reading state before start answers 500 and logs BRISK_NOT_STARTED, from a handler or a dependency", async () => {
    const logger = recordingLogger();
    const fromDependency = dependency(({ state }) => stateRecord(state).db);
    const app = new App({
      logger,
      lifespan: async function* () {
        yield asState({ db: "pool" });
      },
    })
      .get("/handler", {}, ({ state }) => stateRecord(state).db)
      .get("/dependency", { deps: { fromDependency } }, ({ fromDependency }) => fromDependency)
      .get("/stateless", {}, () => "fine");
    await expectJson(await call(app, "/handler"), 500, { detail: "Internal Server Error" });
    await expectJson(await call(app, "/dependency"), 500, { detail: "Internal Server Error" });
    // A route that does not read the state is served.
    await expectJson(await call(app, "/stateless"), 200, "fine");
    assert.equal(logger.errors.length, 2);
    assert.ok(logger.errors.every(hasCode("BRISK_NOT_STARTED")), String(logger.errors));
    await app.start();
    await expectJson(await call(app, "/handler"), 200, "pool");
    await app.stop();
  });

  test("after stop, the state is gone again", async () => {
    const logger = recordingLogger();
    const app = new App({ logger, lifespan: logged([], "app", { n: 1 }) }).get("/", {}, ({ state }) => state);
    await app.start();
    await expectJson(await call(app, "/"), 200, { n: 1 });
    await app.stop();
    assert.equal((await call(app, "/")).status, 500);
    assert.ok(hasCode("BRISK_NOT_STARTED")(logger.errors[0]));
  });
});

describe("start and stop", () => {
  test("start is idempotent: startup runs once and the same state comes back", async () => {
    const log: string[] = [];
    const app = new App({ lifespan: logged(log, "app", { n: 1 }) });
    const first = await app.start();
    const second = await app.start();
    assert.equal(second, first);
    assert.deepEqual(log, ["app up"]);
    await app.stop();
    assert.deepEqual(log, ["app up", "app down"]);
  });

  test("a start() while another is starting waits for it and gets the same state", {}, async () => {
    const log: string[] = [];
    const app = new App({
      lifespan: async function* () {
        await sleep(20);
        log.push("up");
        yield asState({ ready: true });
      },
    });
    const [first, second] = await Promise.all([app.start(), app.start()]);
    assert.deepEqual(log, ["up"]);
    assert.deepEqual(first, { ready: true });
    assert.deepEqual(second, { ready: true });
    await app.stop();
  });

  test("stop runs shutdown once; stop without start, or twice, does nothing", async () => {
    const log: string[] = [];
    const app = new App({ lifespan: logged(log, "app") });
    await app.stop();
    assert.deepEqual(log, []);
    await app.start();
    await app.stop();
    await app.stop();
    assert.deepEqual(log, ["app up", "app down"]);
  });

  test("an app can start again after it stopped", async () => {
    const log: string[] = [];
    const app = new App({ lifespan: logged(log, "app") });
    await app.start();
    await app.stop();
    await app.start();
    await app.stop();
    assert.deepEqual(log, ["app up", "app down", "app up", "app down"]);
  });

  test("routers' lifespans run after the app's, nested ones in order, and in reverse at stop; states merge", async () => {
    const log: string[] = [];
    const inner = new Router({
      prefix: "/inner",
      lifespan: logged(log, "inner", { inner: 1, shared: "inner" }),
    });
    inner.get("/", {}, ({ state }) => state);
    const outer = new Router({
      prefix: "/outer",
      lifespan: logged(log, "outer", { outer: 1, shared: "outer" }),
    });
    outer.include(inner);
    // A router without a lifespan passes its included routers' lifespans on.
    const plain = new Router().include(
      new Router({ prefix: "/last", lifespan: logged(log, "last", { last: 1 }) }).get("/", {}, () => null),
    );
    const app = new App({ lifespan: logged(log, "app", { app: 1, shared: "app" }) });
    app.include(outer).include(plain);
    const expected = { app: 1, outer: 1, inner: 1, last: 1, shared: "inner" };
    assert.deepEqual(await app.start(), expected);
    assert.deepEqual(log, ["app up", "outer up", "inner up", "last up"]);
    await expectJson(await call(app, "/outer/inner/"), 200, expected);
    await app.stop();
    assert.deepEqual(log, [
      "app up",
      "outer up",
      "inner up",
      "last up",
      "last down",
      "inner down",
      "outer down",
      "app down",
    ]);
  });

  test("a router's lifespan runs even when the app has none", async () => {
    const log: string[] = [];
    const app = new App().include(new Router({ lifespan: logged(log, "router", { r: true }) }));
    assert.deepEqual(await app.start(), { r: true });
    await app.stop();
    assert.deepEqual(log, ["router up", "router down"]);
  });
});

describe("a failing startup", () => {
  /** An app whose second lifespan (an included router's) fails at startup, with one more after it. */
  function failingApp(log: string[], failure: Error): App {
    const failing = new Router({
      lifespan: async function* () {
        log.push("failing up");
        throw failure;
        // biome-ignore lint/correctness/noUnreachable: a generator function needs a yield, even one never reached.
        yield {};
      },
    });
    return new App({ lifespan: logged(log, "app") })
      .include(new Router({ lifespan: logged(log, "first") }))
      .include(failing)
      .include(new Router({ lifespan: logged(log, "never") }));
  }

  test("start rejects with the error, after shutting down the lifespans already started", async () => {
    const log: string[] = [];
    const failure = new Error("database unreachable");
    const app = failingApp(log, failure);
    await assert.rejects(app.start(), (error) => error === failure);
    assert.deepEqual(log, ["app up", "first up", "failing up", "first down", "app down"]);
    // Nothing is left to stop, and a new start tries again.
    await app.stop();
    await assert.rejects(app.start(), (error) => error === failure);
    assert.equal(log.filter((line) => line === "app down").length, 2);
  });

  test("listen rejects, and no port is left open", async () => {
    const log: string[] = [];
    const failure = new Error("database unreachable");
    const port = await freePort();
    await assert.rejects(listen(failingApp(log, failure), { port }), (error) => error === failure);
    assert.deepEqual(log, ["app up", "first up", "failing up", "first down", "app down"]);
    assert.equal(await canConnect(port), false, "nothing listens on the port");
    // And the port is free to take.
    await closeServer(await listenOn(port));
  });

  test("listen with port 0 rejects without starting a server", async () => {
    const failure = new Error("no config");
    const app = new App({
      lifespan: async function* () {
        throw failure;
        // biome-ignore lint/correctness/noUnreachable: a generator function needs a yield, even one never reached.
        yield {};
      },
    });
    const before = await openHandles();
    await assert.rejects(listen(app, { port: 0 }), (error) => error === failure);
    assert.equal(await openHandles(), before, "no server handle was left behind");
  });

  test("when the port is taken after startup ran, listen rejects and runs the shutdown", {}, async () => {
    const log: string[] = [];
    const blocker = await listenOn(0);
    const port = (blocker.address() as { port: number }).port;
    try {
      const app = new App({ lifespan: logged(log, "app") });
      await assert.rejects(listen(app, { port }), (error: unknown) => {
        return (error as { code?: string }).code === "EADDRINUSE";
      });
      assert.deepEqual(log, ["app up", "app down"]);
    } finally {
      await closeServer(blocker);
    }
  });

  test("a lifespan that returns without yielding: start rejects with BRISK_INVALID_OPTION", async () => {
    const log: string[] = [];
    const app = new App({ lifespan: logged(log, "app") }).include(
      new Router({
        // biome-ignore lint/correctness/useYield: the mistake under test.
        lifespan: async function* () {
          log.push("no yield");
        },
      }),
    );
    await assert.rejects(app.start(), hasCode("BRISK_INVALID_OPTION"));
    assert.deepEqual(log, ["app up", "no yield", "app down"]);
  });

  test("a lifespan that is not a generator function: BRISK_INVALID_OPTION", async () => {
    const notAGenerator = (async () => ({ db: 1 })) as unknown as Lifespan;
    await assert.rejects(new App({ lifespan: notAGenerator }).start(), hasCode("BRISK_INVALID_OPTION"));
    const notAFunction = { db: 1 } as unknown as Lifespan;
    assert.throws(() => new App({ lifespan: notAFunction }), hasCode("BRISK_INVALID_OPTION"));
  });
});

describe("a failing shutdown", () => {
  function failingDown(log: string[], name: string, failure: Error): Lifespan {
    return async function* () {
      yield {};
      log.push(`${name} down`);
      throw failure;
    };
  }

  test("stop rejects with the error, and the other shutdowns still run", async () => {
    const log: string[] = [];
    const failure = new Error("flush failed");
    const app = new App({ lifespan: logged(log, "app") })
      .include(new Router({ lifespan: failingDown(log, "failing", failure) }))
      .include(new Router({ lifespan: logged(log, "last") }));
    await app.start();
    await assert.rejects(app.stop(), (error) => error === failure);
    assert.deepEqual(log, ["app up", "last up", "last down", "failing down", "app down"]);
    // It is stopped all the same.
    await app.stop();
    assert.equal(log.length, 5);
  });

  test("several failures reject with an AggregateError of them all, last started first", async () => {
    const log: string[] = [];
    const first = new Error("first");
    const second = new Error("second");
    const app = new App({ lifespan: failingDown(log, "app", first) }).include(
      new Router({ lifespan: failingDown(log, "router", second) }),
    );
    await app.start();
    await assert.rejects(app.stop(), (error) => {
      assert.ok(error instanceof AggregateError);
      assert.deepEqual(error.errors, [second, first]);
      return true;
    });
    assert.deepEqual(log, ["router down", "app down"]);
  });
});

describe("listen", () => {
  test("close() lets an in-flight request finish, then runs the shutdown", async () => {
    const log: string[] = [];
    const app = new App({ lifespan: logged(log, "app", { greeting: "hi" }) }).get(
      "/slow",
      {},
      async ({ state }) => {
        log.push("request started");
        await sleep(300);
        log.push("request done");
        return state;
      },
    );
    const server = await listen(app, { port: 0 });
    assert.deepEqual(log, ["app up"]);
    const pending = fetch(`${server.url}/slow`);
    while (!log.includes("request started")) await sleep(5);
    const closed = server.close();
    const response = await pending;
    await expectJson(response, 200, { greeting: "hi" });
    await closed;
    assert.deepEqual(log, ["app up", "request started", "request done", "app down"]);
  });
});

describe("brisk serve", () => {
  test("a lifespan that throws at startup: exit 1, printing the error", { timeout: 60_000 }, async () => {
    const dir = tempDir();
    writeAppModule(
      dir,
      "app.ts",
      `export const app = new App({
  lifespan: async function* () {
    throw new Error("database unreachable at startup");
    yield {};
  },
}).get("/", {}, () => "never served");`,
    );
    const cli = launch(["serve", "app.ts:app", "--port", "0"], dir);
    assert.equal(await exitCode(cli), 1, cli.output());
    assert.match(cli.stderr(), /could not start "app\.ts:app"/, cli.output());
    assert.match(cli.stderr(), /Error: database unreachable at startup/, cli.output());
    assert.doesNotMatch(cli.stdout(), /serving/, cli.output());
  });

  test("SIGTERM: the in-flight request gets its 200, then shutdown runs; exit 0", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    writeAppModule(
      dir,
      "app.ts",
      `export const app = new App({
  lifespan: async function* () {
    console.log("lifespan: startup");
    yield { greeting: "hello" };
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("lifespan: shutdown");
  },
}).get("/slow", {}, async ({ state }) => {
  console.log("slow: started");
  await new Promise((resolve) => setTimeout(resolve, 500));
  console.log("slow: done");
  return state;
});`,
    );
    const cli = launch(["serve", "app.ts:app", "--port", "0"], dir);
    const [, url] = await waitForStdout(cli, SERVING);
    assert.match(cli.stdout(), /lifespan: startup/);
    const pending = fetch(`${url}/slow`, { signal: AbortSignal.timeout(15_000) });
    await waitForStdout(cli, /slow: started/);
    cli.child.kill("SIGTERM");
    const response = await pending;
    assert.equal(response.status, 200, cli.output());
    assert.deepEqual(await response.json(), { greeting: "hello" });
    assert.equal(await exitCode(cli), 0, cli.output());
    const lines = cli
      .stdout()
      .split(/\r?\n/)
      .filter((line) => /^(slow|lifespan):/.test(line));
    assert.deepEqual(
      lines,
      ["lifespan: startup", "slow: started", "slow: done", "lifespan: shutdown"],
      cli.output(),
    );
    assert.match(cli.stderr(), /SIGTERM received/, cli.output());
  });
  test("a shutdown that throws on SIGTERM: exit 1, printing the error", { timeout: 60_000 }, async () => {
    const dir = tempDir();
    writeAppModule(
      dir,
      "app.ts",
      `export const app = new App({
  lifespan: async function* () {
    yield {};
    throw new Error("flush failed at shutdown");
  },
});`,
    );
    const cli = launch(["serve", "app.ts:app", "--port", "0"], dir);
    const [, url] = await waitForStdout(cli, SERVING);
    // One request first: the signal handlers are installed after the "serving" line is printed (see below).
    assert.equal((await fetch(`${url}/missing`)).status, 404);
    cli.child.kill("SIGTERM");
    assert.equal(await exitCode(cli), 1, cli.output());
    assert.match(cli.stderr(), /Error: flush failed at shutdown/, cli.output());
  });

  test("SIGTERM right after the serving line still runs the shutdown", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    writeAppModule(
      dir,
      "app.ts",
      `export const app = new App({
  lifespan: async function* () {
    yield {};
    console.log("lifespan: shutdown");
  },
});`,
    );
    // A race, so several tries; a supervisor that signals as soon as the server is up hits it the same way.
    for (let attempt = 0; attempt < 5; attempt++) {
      const cli = launch(["serve", "app.ts:app", "--port", "0"], dir);
      await waitForStdout(cli, SERVING);
      cli.child.kill("SIGTERM");
      assert.equal(await exitCode(cli), 0, cli.output());
      assert.match(cli.stdout(), /lifespan: shutdown/, cli.output());
    }
  });
});

// --- ports and handles ---

/** True if a TCP connection to 127.0.0.1:port is accepted. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** How many server handles the process holds (after a turn, so that closed ones are gone). */
async function openHandles(): Promise<number> {
  await sleep(0);
  return process.getActiveResourcesInfo().filter((name) => name === "TCPServerWrap").length;
}
