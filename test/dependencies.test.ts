import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { Validator } from "@seriousme/openapi-schema-validator";
import { App, dependency, HTTPException, isBriskError, type Listening, listen } from "briskjs";
import { z } from "zod";
import { call, expectJson, recordingLogger } from "./helpers/app.ts";

function postJson(app: App, target: string, body: string, headers: Record<string, string> = {}) {
  return call(app, target, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

/** A promise and the function that resolves it: how a test waits for work brisk does after the response. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Lets what brisk runs once a response has been read (on the next turn of the event loop) happen. */
async function settled(): Promise<void> {
  await tick();
  await tick();
}

function isInvalidDependency(error: unknown): boolean {
  return isBriskError(error) && error.code === "BRISK_INVALID_DEPENDENCY";
}

const INTERNAL_ERROR = { detail: "Internal Server Error" };

describe("values reach the handler", () => {
  test("sync, async, sync-generator and async-generator dependencies, by name", async () => {
    const plain = dependency(() => 1);
    const promised = dependency(async () => "two");
    const generated = dependency(function* () {
      yield [3];
    });
    const streamed = dependency(async function* () {
      yield { four: 4 };
    });
    const app = new App().get(
      "/",
      { deps: { plain, promised, generated, streamed } },
      ({ plain, promised, generated, streamed }) => ({ plain, promised, generated, streamed }),
    );
    await expectJson(await call(app, "/"), 200, {
      plain: 1,
      promised: "two",
      generated: [3],
      streamed: { four: 4 },
    });
  });

  test("sub-dependencies at depth 3 reach each dependency's context by name", async () => {
    const base = dependency({ query: { n: z.int() } }, ({ query }) => query.n);
    const doubled = dependency({ deps: { base } }, ({ base }) => base * 2);
    const plusOne = dependency({ deps: { doubled } }, async ({ doubled }) => doubled + 1);
    const app = new App().get("/", { deps: { result: plusOne } }, ({ result }) => ({ result }));
    await expectJson(await call(app, "/?n=20"), 200, { result: 41 });
  });

  test("a dependency used directly and as a sub-dependency runs once per request, and again on the next", async () => {
    let calls = 0;
    const db = dependency(() => ++calls);
    const user = dependency({ deps: { db } }, ({ db }) => ({ db }));
    const app = new App().get("/", { deps: { db, user } }, ({ db, user }) => ({ db, user }));
    await expectJson(await call(app, "/"), 200, { db: 1, user: { db: 1 } });
    await expectJson(await call(app, "/"), 200, { db: 2, user: { db: 2 } });
    assert.equal(calls, 2);
  });

  test("a generator used twice is entered once and cleaned up once", async () => {
    const log: string[] = [];
    const session = dependency(function* () {
      log.push("enter");
      yield "s";
      log.push("exit");
    });
    const repo = dependency({ deps: { session } }, ({ session }) => `repo(${session})`);
    const app = new App().get("/", { deps: { session, repo } }, ({ session, repo }) => ({ session, repo }));
    await expectJson(await call(app, "/"), 200, { session: "s", repo: "repo(s)" });
    await settled();
    assert.deepEqual(log, ["enter", "exit"]);
  });

  test("cache: false runs the dependency for every use", async () => {
    let calls = 0;
    const fresh = dependency({ cache: false }, () => ++calls);
    const holder = dependency({ deps: { fresh } }, ({ fresh }) => ({ fresh }));
    const app = new App().get("/", { deps: { fresh, holder } }, ({ fresh, holder }) => ({ fresh, holder }));
    await expectJson(await call(app, "/"), 200, { fresh: 1, holder: { fresh: 2 } });
  });
});

describe("a dependency's own inputs", () => {
  test("query, header, cookie, path and body inputs are validated and typed", async () => {
    const inputs = dependency(
      {
        params: { id: z.int() },
        query: { limit: z.int().default(10) },
        headers: { x_token: z.string() },
        cookies: { sid: z.string() },
        body: z.object({ n: z.int() }),
      },
      ({ params, query, headers, cookies, body }) => ({ params, query, headers, cookies, body }),
    );
    const app = new App().post("/items/{id}", { deps: { inputs } }, ({ inputs }) => inputs);
    await expectJson(
      await postJson(app, "/items/7?limit=3", '{"n": 5}', { "x-token": "t", cookie: "sid=abc" }),
      200,
      {
        params: { id: 7 },
        query: { limit: 3 },
        headers: { x_token: "t" },
        cookies: { sid: "abc" },
        body: { n: 5 },
      },
    );
  });

  test("their issues come in the 422 with the route's: dependencies first, depth first, then the route's", async () => {
    const inner = dependency({ query: { a: z.int() } }, ({ query }) => query.a);
    const outer = dependency({ headers: { x_token: z.string() }, deps: { inner } }, ({ headers }) => headers);
    const sibling = dependency(
      { params: { id: z.string().min(5) }, cookies: { sid: z.string() }, body: z.object({ m: z.string() }) },
      () => 1,
    );
    const app = new App().post(
      "/x/{id}",
      {
        params: { id: z.int() },
        query: { q: z.string() },
        body: z.object({ n: z.int() }),
        deps: { outer, sibling },
      },
      () => null,
    );
    await expectJson(await postJson(app, "/x/abc?a=zz", "{}"), 422, {
      detail: [
        {
          type: "int_parsing",
          loc: ["query", "a"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "zz",
        },
        { type: "missing", loc: ["header", "x-token"], msg: "Field required", input: null },
        {
          type: "string_too_short",
          loc: ["path", "id"],
          msg: "String should have at least 5 characters",
          input: "abc",
          ctx: { min_length: 5 },
        },
        { type: "missing", loc: ["cookie", "sid"], msg: "Field required", input: null },
        { type: "missing", loc: ["body", "m"], msg: "Field required", input: {} },
        {
          type: "int_parsing",
          loc: ["path", "id"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "abc",
        },
        { type: "missing", loc: ["query", "q"], msg: "Field required", input: null },
        { type: "missing", loc: ["body", "n"], msg: "Field required", input: {} },
      ],
    });
  });

  test("a dependency whose input fails is skipped, as are those that need it; its siblings still run", async () => {
    const ran: string[] = [];
    const failing = dependency({ query: { n: z.int() } }, () => ran.push("failing"));
    const parent = dependency({ deps: { failing } }, () => ran.push("parent"));
    const sibling = dependency(() => ran.push("sibling"));
    const app = new App().get("/", { deps: { parent, sibling } }, () => ran.push("handler"));
    await expectJson(await call(app, "/?n=x"), 422, {
      detail: [
        {
          type: "int_parsing",
          loc: ["query", "n"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "x",
        },
      ],
    });
    assert.deepEqual(ran, ["sibling"]);
  });

  test("a failing dependency used twice reports its issues once", async () => {
    const shared = dependency({ query: { n: z.int() } }, ({ query }) => query.n);
    const user = dependency({ deps: { shared } }, ({ shared }) => shared);
    const app = new App().get("/", { deps: { shared, user } }, () => null);
    await expectJson(await call(app, "/"), 422, {
      detail: [{ type: "missing", loc: ["query", "n"], msg: "Field required", input: null }],
    });
  });

  test("a dependency that throws HTTPException(401) pre-empts the 422s, and its headers are sent", async () => {
    const ran: string[] = [];
    const invalid = dependency({ query: { page: z.int() } }, () => ran.push("invalid"));
    const auth = dependency({ headers: { authorization: z.string().optional() } }, ({ headers }) => {
      if (headers.authorization === undefined) {
        throw new HTTPException(401, "Not authenticated", { "WWW-Authenticate": "Bearer" });
      }
      return headers.authorization;
    });
    const later = dependency(() => ran.push("later"));
    const app = new App().get(
      "/me",
      { query: { q: z.int() }, deps: { invalid, auth, later } },
      ({ auth }) => ({ auth }),
    );
    const response = await call(app, "/me?page=x");
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
    await expectJson(response, 401, { detail: "Not authenticated" });
    assert.deepEqual(ran, [], "nothing after the throwing dependency ran, nor the one with bad inputs");
    await expectJson(await call(app, "/me?q=1&page=1", { headers: { authorization: "Bearer t" } }), 200, {
      auth: "Bearer t",
    });
  });

  test("malformed JSON is a 422 before any dependency runs, even one that would refuse the request", async () => {
    let authRan = false;
    const auth = dependency(() => {
      authRan = true;
      throw new HTTPException(401, "Not authenticated");
    });
    const app = new App().post("/items", { body: z.object({ n: z.int() }), deps: { auth } }, () => null);
    await expectJson(await postJson(app, "/items", '{"n": '), 422, {
      detail: [
        {
          type: "json_invalid",
          loc: ["body", 6],
          msg: "JSON decode error",
          input: {},
          ctx: { error: "Expecting value" },
        },
      ],
    });
    assert.equal(authRan, false);
  });

  test("a body only a dependency declares is read for the route", async () => {
    const payload = dependency({ body: z.object({ n: z.int() }) }, ({ body }) => body.n);
    const app = new App().post("/items", { deps: { payload } }, ({ payload, body }) => ({ payload, body }));
    await expectJson(await postJson(app, "/items", '{"n": 3}'), 200, { payload: 3 });
  });
});

describe("cleanup after yield", () => {
  test("through app.fetch, a streamed body keeps the dependency open until it has been read", async () => {
    const log: string[] = [];
    const session = dependency(async function* () {
      log.push("enter");
      yield "s";
      log.push("exit");
    });
    const app = new App().get("/", { deps: { session } }, ({ session }) => {
      log.push("handler");
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          log.push(`streaming with ${session}`);
          controller.enqueue(new TextEncoder().encode(session));
          controller.close();
        },
      });
      return new Response(body);
    });
    const response = await call(app, "/");
    await tick();
    assert.ok(!log.includes("exit"), "not yet: the body has not been read");
    assert.equal(await response.text(), "s");
    await tick();
    assert.equal(log.at(-1), "exit");
  });

  test("through app.fetch, a body brisk built runs cleanup without waiting for the caller", async () => {
    const exited = deferred();
    const session = dependency(function* () {
      yield "s";
      exited.resolve();
    });
    const app = new App().get("/", { deps: { session } }, ({ session }) => ({ session }));
    assert.equal((await call(app, "/")).status, 200);
    await exited.promise;
  });

  test("a response without a body lets cleanup run without being read", async () => {
    const exited = deferred();
    const session = dependency(function* () {
      yield "s";
      exited.resolve();
    });
    const app = new App().delete("/", { status: 204, deps: { session } }, () => undefined);
    const response = await call(app, "/", { method: "DELETE" });
    assert.equal(response.status, 204);
    await exited.promise;
  });

  test("runs in reverse order of entry", async () => {
    const log: string[] = [];
    const step = (name: string) =>
      dependency(async function* () {
        log.push(`enter ${name}`);
        yield name;
        log.push(`exit ${name}`);
      });
    const a = step("a");
    const b = dependency({ deps: { a } }, function* ({ a }) {
      log.push("enter b");
      yield `${a}b`;
      log.push("exit b");
    });
    const c = step("c");
    const app = new App().get("/", { deps: { b, c } }, ({ b, c }) => {
      log.push("handler");
      return [b, c];
    });
    await expectJson(await call(app, "/"), 200, ["ab", "c"]);
    await settled();
    assert.deepEqual(log, ["enter a", "enter b", "enter c", "handler", "exit c", "exit b", "exit a"]);
  });

  test("a handler's error is thrown into the generator, and the client gets the 500", async () => {
    const logger = recordingLogger();
    const seen: string[] = [];
    const session = dependency(async function* () {
      try {
        yield "s";
        seen.push("no error");
      } catch (error) {
        seen.push(`caught ${(error as Error).message}`);
        throw error;
      }
    });
    const app = new App({ logger }).get("/", { deps: { session } }, () => {
      throw new Error("boom");
    });
    await expectJson(await call(app, "/"), 500, INTERNAL_ERROR);
    await settled();
    assert.deepEqual(seen, ["caught boom"]);
    assert.deepEqual(logger.errors, ["GET /: unhandled error: boom"], "logged once, as the request's error");
  });

  test("an HTTPException from the handler reaches the generator too, and the client gets it", async () => {
    const seen: unknown[] = [];
    const session = dependency(function* () {
      try {
        yield "s";
      } catch (error) {
        seen.push((error as HTTPException).status);
      }
    });
    const app = new App().get("/", { deps: { session } }, () => {
      throw new HTTPException(404, "Gone");
    });
    await expectJson(await call(app, "/"), 404, { detail: "Gone" });
    await settled();
    assert.deepEqual(seen, [404]);
  });

  test("a cleanup that throws is logged and changes nothing else", async () => {
    const logger = recordingLogger();
    const log: string[] = [];
    const outer = dependency(function* () {
      yield 1;
      log.push("outer exit");
    });
    const broken = dependency(async function* () {
      yield 2;
      throw new Error("cleanup broke");
    });
    const app = new App({ logger }).get(
      "/",
      { deps: { outer, broken } },
      ({ outer, broken }) => outer + broken,
    );
    await expectJson(await call(app, "/"), 200, 3);
    await settled();
    assert.deepEqual(log, ["outer exit"]);
    assert.deepEqual(logger.errors, ["GET,HEAD /: a dependency's cleanup failed: cleanup broke"]);
  });

  test("a generator that yields twice is logged; its first value is used", async () => {
    const logger = recordingLogger();
    const twice = dependency(function* () {
      yield "first";
      yield "second";
    });
    const app = new App({ logger }).get("/", { deps: { twice } }, ({ twice }) => twice);
    await expectJson(await call(app, "/"), 200, "first");
    await settled();
    assert.deepEqual(logger.errors, [
      "GET,HEAD /: a dependency yielded more than once; only its first value is used",
    ]);
  });

  test("a 422 found after a generator was entered is thrown into it, as FastAPI does", {}, async () => {
    const seen: string[] = [];
    const session = dependency(function* () {
      try {
        yield "s";
        seen.push("no error");
      } catch (error) {
        seen.push((error as Error).name);
        throw error;
      }
    });
    const app = new App().get("/", { query: { q: z.int() }, deps: { session } }, () => null);
    assert.equal((await call(app, "/")).status, 422);
    await settled();
    assert.deepEqual(seen, ["RequestValidationError"]);
  });
});

describe('scope: "function": the code after yield runs when the handler returns, before the response', () => {
  /** A transaction-like dependency: "commit" after the handler, "rollback" when an error is thrown in. */
  function transaction(log: string[], options: { commitFails?: unknown; commitDelayMs?: number } = {}) {
    return dependency({ scope: "function" }, async function* () {
      log.push("begin");
      try {
        yield "tx";
        await new Promise((resolve) => setTimeout(resolve, options.commitDelayMs ?? 0));
        if (options.commitFails !== undefined) throw options.commitFails;
        log.push("commit");
      } catch (error) {
        log.push(`rollback (${(error as Error).message})`);
        throw error;
      }
    });
  }

  test("a success response is sent only after the commit: the caller never reads before it", async () => {
    const log: string[] = [];
    const tx = transaction(log, { commitDelayMs: 30 });
    const app = new App().post("/items", { deps: { tx } }, ({ tx }) => {
      log.push(`handler with ${tx}`);
      return { ok: true };
    });
    const response = await call(app, "/items", { method: "POST" });
    log.push("response");
    await expectJson(response, 200, { ok: true });
    assert.deepEqual(log, ["begin", "handler with tx", "commit", "response"]);
  });

  test("a commit that fails is the response (a 500), never the handler's 200; the error is logged once", async () => {
    const logger = recordingLogger();
    const log: string[] = [];
    const tx = transaction(log, { commitFails: new Error("could not serialize access") });
    const app = new App({ logger }).post("/items", { deps: { tx } }, () => ({ ok: true }));
    await expectJson(await call(app, "/items", { method: "POST" }), 500, INTERNAL_ERROR);
    assert.deepEqual(log, ["begin", "rollback (could not serialize access)"]);
    assert.deepEqual(logger.errors, ["POST /items: unhandled error: could not serialize access"]);
  });

  test("an HTTPException thrown after yield becomes the response with its status and headers", async () => {
    const log: string[] = [];
    const conflict = new HTTPException(409, "Name taken", { "x-reason": "unique" });
    const tx = transaction(log, { commitFails: conflict });
    const app = new App().post("/items", { deps: { tx } }, () => ({ ok: true }));
    const response = await call(app, "/items", { method: "POST" });
    await expectJson(response, 409, { detail: "Name taken" });
    assert.equal(response.headers.get("x-reason"), "unique");
  });

  test("a handler's error is thrown in before the response; the client gets the handler's error", async () => {
    const log: string[] = [];
    const tx = transaction(log);
    const app = new App().post("/items", { deps: { tx } }, () => {
      throw new HTTPException(404, "No such list");
    });
    const response = await call(app, "/items", { method: "POST" });
    log.push("response");
    await expectJson(response, 404, { detail: "No such list" });
    assert.deepEqual(log, ["begin", "rollback (No such list)", "response"]);
  });

  test("a generator that swallows the handler's error does not turn it into a success", async () => {
    const quiet = dependency({ scope: "function" }, function* () {
      try {
        yield 1;
      } catch {
        // rolled back, not rethrown
      }
    });
    const app = new App().get("/", { deps: { quiet } }, () => {
      throw new HTTPException(403, "No");
    });
    await expectJson(await call(app, "/"), 403, { detail: "No" });
  });

  test("a 422 is thrown in before the 422 is sent", async () => {
    const log: string[] = [];
    const tx = transaction(log);
    const app = new App().get("/", { query: { q: z.int() }, deps: { tx } }, () => null);
    const response = await call(app, "/?q=x");
    log.push("response");
    assert.equal(response.status, 422);
    assert.deepEqual(log, ["begin", "rollback (1 validation error in the request)", "response"]);
  });

  test("function-scoped exits run last entered first, before the response; request-scoped ones after it", async () => {
    const log: string[] = [];
    const scoped = (name: string, scope: "request" | "function") =>
      dependency({ scope }, function* () {
        log.push(`enter ${name}`);
        yield name;
        log.push(`exit ${name}`);
      });
    const outer = scoped("outer", "request");
    const a = scoped("a", "function");
    const b = dependency({ scope: "function", deps: { a } }, function* ({ a }) {
      log.push("enter b");
      yield `${a}b`;
      log.push("exit b");
    });
    const app = new App().get("/", { deps: { outer, b } }, ({ b }) => b);
    const response = await call(app, "/");
    log.push("response");
    await expectJson(response, 200, "ab");
    await settled();
    assert.deepEqual(log, [
      "enter outer",
      "enter a",
      "enter b",
      "exit b",
      "exit a",
      "response",
      "exit outer",
    ]);
  });

  test("over sockets, on both request paths, a failed commit is the 500 the client reads", async () => {
    for (const fastLane of [true, false]) {
      const log: string[] = [];
      const tx = transaction(log, { commitFails: new Error("commit failed") });
      const app = new App({ logger: recordingLogger() }).post("/items", { deps: { tx } }, () => ({
        ok: true,
      }));
      const server = await listen(app, { port: 0, fastLane });
      try {
        const response = await fetch(`${server.url}/items`, { method: "POST" });
        assert.equal(response.status, 500, `fastLane: ${fastLane}`);
        assert.deepEqual(await response.json(), INTERNAL_ERROR);
      } finally {
        await server.close();
      }
    }
  });

  test("a request-scoped generator that needs a function-scoped one throws BRISK_DEPENDENCY_SCOPE at registration", () => {
    const session = dependency({ scope: "function" }, function* () {
      yield "s";
    });
    const repository = dependency({ deps: { session } }, function* ({ session }) {
      yield { session };
    });
    assert.throws(
      () => new App().get("/", { deps: { repository } }, () => null),
      (error: unknown) => isBriskError(error) && error.code === "BRISK_DEPENDENCY_SCOPE",
    );
    // A plain function may use it (it has nothing to run later), and so may a function-scoped generator.
    const plain = dependency({ deps: { session } }, ({ session }) => ({ session }));
    const scoped = dependency({ scope: "function", deps: { session } }, function* ({ session }) {
      yield { session };
    });
    new App().get("/", { deps: { plain, scoped } }, () => null);
  });
});

describe("dependencies run for effect", () => {
  test("the app's, then the route's, run before deps; their values are dropped", async () => {
    const log: string[] = [];
    const effect = (name: string) => dependency(() => log.push(name));
    const value = dependency(() => {
      log.push("deps");
      return "v";
    });
    const app = new App({ dependencies: [effect("app")] }).get(
      "/",
      { dependencies: [effect("route 1"), effect("route 2")], deps: { value } },
      (context) => {
        log.push("handler");
        return Object.keys(context).filter(
          (key) => !["params", "query", "headers", "cookies", "body"].includes(key),
        );
      },
    );
    await expectJson(await call(app, "/"), 200, ["value"]);
    assert.deepEqual(log, ["app", "route 1", "route 2", "deps", "handler"]);
  });

  test("an app-level effect applies to every route, and can refuse the request", async () => {
    const apiKey = dependency({ headers: { x_key: z.string() } }, ({ headers }) => {
      if (headers.x_key !== "secret") throw new HTTPException(403, "Forbidden");
    });
    const app = new App({ dependencies: [apiKey] })
      .get("/a", {}, () => "a")
      .get("/b", { query: { n: z.int() } }, ({ query }) => query.n);
    await expectJson(await call(app, "/a"), 422, {
      detail: [{ type: "missing", loc: ["header", "x-key"], msg: "Field required", input: null }],
    });
    await expectJson(await call(app, "/b?n=x", { headers: { "x-key": "wrong" } }), 403, {
      detail: "Forbidden",
    });
    await expectJson(await call(app, "/a", { headers: { "x-key": "secret" } }), 200, "a");
    await expectJson(await call(app, "/b?n=2", { headers: { "x-key": "secret" } }), 200, 2);
  });
});

describe("overrides", () => {
  test("a replacement dependency applies to sub-dependencies too; clear() restores", async () => {
    const db = dependency(() => "real");
    const user = dependency({ deps: { db } }, ({ db }) => `user from ${db}`);
    const app = new App().get("/", { deps: { db, user } }, ({ db, user }) => ({ db, user }));
    app.overrides.set(
      db,
      dependency({ query: { name: z.string().default("fake") } }, ({ query }) => query.name),
    );
    await expectJson(await call(app, "/"), 200, { db: "fake", user: "user from fake" });
    await expectJson(await call(app, "/?name=mock"), 200, { db: "mock", user: "user from mock" });
    app.overrides.clear();
    await expectJson(await call(app, "/"), 200, { db: "real", user: "user from real" });
  });

  test("a plain function replaces a dependency, even when set after the first request", async () => {
    const db = dependency(async function* () {
      yield "real";
    });
    const user = dependency({ deps: { db } }, ({ db }) => `user from ${db}`);
    const app = new App().get("/", { deps: { user } }, ({ user }) => user);
    await expectJson(await call(app, "/"), 200, "user from real");
    app.overrides.set(db, () => "stub");
    await expectJson(await call(app, "/"), 200, "user from stub");
    app.overrides.delete(db);
    await expectJson(await call(app, "/"), 200, "user from real");
  });

  test("an overridden dependency whose replacement is a generator is cleaned up", async () => {
    const log: string[] = [];
    const db = dependency(() => "real");
    const app = new App().get("/", { deps: { db } }, ({ db }) => db);
    app.overrides.set(
      db,
      dependency(function* () {
        yield "fake";
        log.push("fake closed");
      }),
    );
    await expectJson(await call(app, "/"), 200, "fake");
    await settled();
    assert.deepEqual(log, ["fake closed"]);
  });
});

describe("background tasks", () => {
  test("run after the response, in order, async ones awaited one after another", async () => {
    const log: string[] = [];
    const done = deferred();
    const app = new App().get("/", {}, ({ background }) => {
      background(async () => {
        log.push("1 start");
        await tick();
        log.push("1 end");
      });
      background(() => log.push("2"));
      background(done.resolve);
      log.push("handler");
      // A streamed body: the response is sent once the caller has read it.
      return new Response(new ReadableStream({ start: (controller) => controller.close() }), { status: 200 });
    });
    const response = await call(app, "/");
    await tick();
    assert.deepEqual(log, ["handler"], "not before the streamed body has been read");
    assert.equal(await response.text(), "");
    await done.promise;
    assert.deepEqual(log, ["handler", "1 start", "1 end", "2"]);
  });

  test("with a body brisk built in memory, tasks run whether or not the caller reads it", async () => {
    const done = deferred();
    const app = new App().get("/", {}, ({ background }) => {
      background(done.resolve);
      return "ok";
    });
    assert.equal((await call(app, "/")).status, 200);
    await done.promise;
  });

  test("a dependency's context adds tasks too; they run before the dependencies' cleanup", async () => {
    const log: string[] = [];
    const exited = deferred();
    const session = dependency(async function* ({ background }) {
      log.push("enter");
      background(() => log.push("task from dependency"));
      yield "s";
      log.push("exit");
      exited.resolve();
    });
    const app = new App().get("/", { deps: { session } }, ({ background }) => {
      log.push("handler");
      background(async () => {
        await tick();
        log.push("task from handler");
      });
      return "ok";
    });
    await expectJson(await call(app, "/"), 200, "ok");
    await exited.promise;
    assert.deepEqual(log, ["enter", "handler", "task from dependency", "task from handler", "exit"]);
  });

  test("a failing task is logged, later tasks still run, and the response is unaffected", async () => {
    const logger = recordingLogger();
    const done = deferred();
    const app = new App({ logger }).get("/", {}, ({ background }) => {
      background(() => {
        throw new Error("task broke");
      });
      background(async () => {
        throw new Error("async task broke");
      });
      background(done.resolve);
      return "ok";
    });
    await expectJson(await call(app, "/"), 200, "ok");
    await done.promise;
    assert.deepEqual(logger.errors, [
      "GET,HEAD /: a background task failed: task broke",
      "GET,HEAD /: a background task failed: async task broke",
    ]);
  });

  test("tasks do not run when the handler throws, with or without dependencies", async () => {
    const logger = recordingLogger();
    const ran: string[] = [];
    const one = dependency(() => 1);
    const app = new App({ logger })
      .get("/plain", {}, ({ background }) => {
        background(() => ran.push("plain"));
        throw new HTTPException(409, "Conflict");
      })
      .get("/deps", { deps: { one } }, async ({ background }) => {
        background(() => ran.push("deps"));
        throw new Error("boom");
      });
    await expectJson(await call(app, "/plain"), 409, { detail: "Conflict" });
    await expectJson(await call(app, "/deps"), 500, INTERNAL_ERROR);
    await settled();
    assert.deepEqual(ran, []);
  });

  test("the destructured form works", async () => {
    const done = deferred();
    const app = new App().get("/", {}, ({ background }) => background(done.resolve));
    const response = await call(app, "/");
    assert.equal(response.status, 200);
    await response.text();
    await done.promise;
  });

  test("tasks a dependency added do not run when the request ends in a 422", {}, async () => {
    const ran: string[] = [];
    const audit = dependency(({ background }) => background(() => ran.push("task")));
    const app = new App().get("/", { query: { q: z.int() }, deps: { audit } }, () => null);
    assert.equal((await call(app, "/")).status, 422);
    await settled();
    assert.deepEqual(ran, []);
  });

  test("tasks do not run when the response fails validation, as on a route with dependencies", {}, async () => {
    const ran: string[] = [];
    const logger = recordingLogger();
    const app = new App({ logger }).get("/", { response: z.object({ n: z.int() }) }, ({ background }) => {
      background(() => ran.push("task"));
      return { n: "x" } as never;
    });
    await expectJson(await call(app, "/"), 500, INTERNAL_ERROR);
    await settled();
    assert.deepEqual(ran, []);
  });
});

describe("registration errors", () => {
  const one = dependency(() => 1);

  test("a deps entry that is not a dependency throws BRISK_INVALID_DEPENDENCY at app.get", () => {
    assert.throws(
      () => new App().get("/", { deps: { db: (() => 1) as never } }, () => null),
      isInvalidDependency,
    );
    assert.throws(() => new App().get("/", { dependencies: [{} as never] }, () => null), isInvalidDependency);
    assert.throws(
      () => new App({ dependencies: ["nope" as never] }).get("/", {}, () => null),
      isInvalidDependency,
    );
    assert.throws(() => dependency({ deps: { db: (() => 1) as never } }, () => null), isInvalidDependency);
  });

  for (const name of ["params", "query", "headers", "cookies", "body", "request", "response", "background"]) {
    test(`a deps entry named "${name}" throws BRISK_INVALID_DEPENDENCY at app.get`, () => {
      assert.throws(() => new App().get("/", { deps: { [name]: one } }, () => null), isInvalidDependency);
    });
  }

  test("a sub-dependency named like a context field throws at registration, not on the first request", {}, () => {
    const outer = dependency({ deps: { query: one } }, () => 1);
    assert.throws(() => new App().get("/", { deps: { outer } }, () => null), isInvalidDependency);
  });

  test("a dependency's params that the route's path lacks throw BRISK_UNKNOWN_PATH_PARAM at registration", {}, () => {
    const item = dependency({ params: { item_id: z.int() } }, ({ params }) => params.item_id);
    assert.throws(
      () => new App().get("/items", { deps: { item } }, () => null),
      (error: unknown) => isBriskError(error) && error.code === "BRISK_UNKNOWN_PATH_PARAM",
    );
  });
});

describe("OpenAPI", () => {
  const token = dependency({ headers: { x_token: z.string() } }, ({ headers }) => headers.x_token);
  const page = dependency(
    { query: { limit: z.int().default(10), q: z.string().optional() }, deps: { token } },
    ({ query }) => query,
  );
  const search = dependency({ query: { q: z.string() } }, ({ query }) => query.q);
  const payload = dependency({ body: z.object({ n: z.int() }) }, ({ body }) => body.n);
  const tenant = dependency({ headers: { x_tenant: z.string().optional() } }, () => 1);
  const app = new App({ dependencies: [tenant] })
    .get("/items", { query: { limit: z.int().default(10) }, deps: { page, search } }, () => 1)
    .post("/things", { deps: { payload } }, () => 1)
    .post("/own", { body: z.object({ own: z.string() }), deps: { payload } }, () => 1)
    .get("/only-dependency", { deps: { search } }, () => 1);
  const plain = new App().get("/only-dependency", { deps: { search } }, () => 1);

  const INT = { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 };
  const TENANT = { name: "x-tenant", in: "header", required: false, schema: { type: "string" } };
  const OK = { description: "Successful Response", content: { "application/json": { schema: {} } } };
  const ref = (name: string) => ({
    "application/json": { schema: { $ref: `#/components/schemas/${name}` } },
  });
  const UNPROCESSABLE = { description: "Validation Error", content: ref("HTTPValidationError") };

  test("dependencies' parameters join the route's, once per in+name, required if any requires them", () => {
    assert.deepEqual(app.openapi().paths["/items"], {
      get: {
        operationId: "getItems",
        parameters: [
          { name: "limit", in: "query", required: false, schema: { default: 10, ...INT } },
          { name: "q", in: "query", required: true, schema: { type: "string" } },
          TENANT,
          { name: "x-token", in: "header", required: true, schema: { type: "string" } },
        ],
        responses: { "200": OK, "422": UNPROCESSABLE },
      },
    });
  });

  test("a dependency's body is the request body when the route has none; the route's wins otherwise", () => {
    const paths = app.openapi().paths as Record<string, { post: { requestBody: unknown } }>;
    assert.deepEqual(paths["/things"]?.post, {
      operationId: "postThings",
      parameters: [TENANT],
      requestBody: {
        content: {
          "application/json": {
            schema: { type: "object", properties: { n: INT }, required: ["n"] },
          },
        },
        required: true,
      },
      responses: {
        "200": OK,
        "413": { description: "Content Too Large", content: ref("HTTPError") },
        "415": { description: "Unsupported Media Type", content: ref("HTTPError") },
        "422": UNPROCESSABLE,
      },
    });
    assert.deepEqual(paths["/own"]?.post.requestBody, {
      content: {
        "application/json": {
          schema: { type: "object", properties: { own: { type: "string" } }, required: ["own"] },
        },
      },
      required: true,
    });
  });

  test("an operation whose only inputs are a dependency's gets the 422", () => {
    assert.deepEqual(plain.openapi().paths["/only-dependency"], {
      get: {
        operationId: "getOnlyDependency",
        parameters: [{ name: "q", in: "query", required: true, schema: { type: "string" } }],
        responses: { "200": OK, "422": UNPROCESSABLE },
      },
    });
  });

  test("the app's dependencies' parameters are on every operation", () => {
    const paths = app.openapi().paths as Record<string, Record<string, { parameters?: unknown[] }>>;
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        assert.deepEqual(
          operation.parameters?.filter((each) => (each as { in: string }).in === "header")[0],
          TENANT,
          `${method} ${path}`,
        );
      }
    }
  });

  test("the document passes an independent OpenAPI 3.1 validator", async () => {
    const validator = new Validator();
    const result = await validator.validate(app.openapi() as Record<string, unknown>);
    assert.ok(result.valid, `invalid OpenAPI document:\n${JSON.stringify(result.errors, null, 2)}`);
  });
});

describe("over a socket", () => {
  async function serving<T>(app: App, run: (server: Listening) => Promise<T>): Promise<T> {
    const server = await listen(app, { port: 0 });
    try {
      return await run(server);
    } finally {
      await server.close();
    }
  }

  test("cleanup and background tasks run after the client has the full response", async () => {
    const log: string[] = [];
    const gate = deferred();
    const exited = deferred();
    const session = dependency(async function* ({ background }) {
      background(() => log.push("task"));
      yield "s";
      log.push("exit");
      exited.resolve();
    });
    const app = new App().get("/", { deps: { session } }, () => {
      const encoder = new TextEncoder();
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (sent++ === 0) controller.enqueue(encoder.encode("first,"));
            else {
              await gate.promise;
              controller.enqueue(encoder.encode("second"));
              controller.close();
            }
          },
        }),
      );
    });
    await serving(app, async (server) => {
      const response = await fetch(server.url);
      const reader = response.body!.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), "first,");
      await settled();
      assert.deepEqual(log, [], "nothing runs while the response is still being sent");
      gate.resolve();
      let rest = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      assert.equal(rest, "second");
      await exited.promise;
      assert.deepEqual(log, ["task", "exit"]);
    });
  });

  test("a handler's error reaches the generator, and the client gets the 500", async () => {
    const logger = recordingLogger();
    const caught = deferred();
    let seen = "";
    const session = dependency(async function* () {
      try {
        yield "s";
      } catch (error) {
        seen = (error as Error).message;
        caught.resolve();
      }
    });
    const app = new App({ logger }).get("/", { deps: { session } }, () => {
      throw new Error("boom");
    });
    await serving(app, async (server) => {
      const response = await fetch(server.url);
      assert.equal(response.status, 500);
      assert.deepEqual(await response.json(), INTERNAL_ERROR);
      await caught.promise;
      assert.equal(seen, "boom");
      assert.deepEqual(logger.errors, ["GET /: unhandled error: boom"]);
    });
  });
});

describe("after-response work with middleware", () => {
  test("a body brisk built still lets cleanup run without the caller reading it", async () => {
    const exited = deferred();
    const session = dependency(function* () {
      yield "s";
      exited.resolve();
    });
    const app = new App().use((_context, next) => next());
    app.get("/", { deps: { session } }, ({ session }) => ({ session }));
    assert.equal((await call(app, "/")).status, 200);
    await exited.promise;
  });
});

describe("a dependency's documented responses", () => {
  test("appear on every operation that uses it, under the route's own", () => {
    const admin = dependency({ responses: { "403": { description: "Not an admin" } } }, () => true);
    const app = new App()
      .get("/a", { deps: { admin } }, () => 1)
      .get("/b", { dependencies: [admin], responses: { "403": { description: "Mine" } } }, () => 1);
    const paths = app.openapi().paths as Record<
      string,
      { get: { responses: Record<string, { description: string }> } }
    >;
    assert.equal(paths["/a"]!.get.responses["403"]!.description, "Not an admin");
    assert.equal(paths["/b"]!.get.responses["403"]!.description, "Mine");
  });
});
