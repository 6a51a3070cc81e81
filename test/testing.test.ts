// brisk/testing: the in-process test client, its request options, its lifespan and its dependency overrides.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, dependency, redirect } from "briskjs";
import { testClient } from "briskjs/testing";
import { asState, expectJson } from "./helpers/app.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// biome-ignore lint/correctness/noUnusedVariables: the type argument is the assertion.
function expectType<T extends true>(): void {}

/** What the echo route saw of a request. */
interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** An app whose `/echo` answers, for every method, what it received. */
function echoApp(): App {
  return new App().route(ALL_METHODS, "/echo", {}, async ({ request }) => {
    const echo: Echo = {
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    };
    return echo;
  });
}

/** Parses an echo response, asserting a 200 JSON answer. */
async function readEcho(response: Response): Promise<Echo> {
  const raw = await response.text();
  assert.equal(response.status, 200, `status (body: ${raw})`);
  assert.equal(response.headers.get("content-type"), "application/json");
  return JSON.parse(raw) as Echo;
}

describe("paths", () => {
  test("path params are filled and percent-encoded, and reach the handler decoded", async () => {
    const app = new App().get("/items/{item_id}", {}, ({ params, request }) => ({
      item_id: params.item_id,
      path: new URL(request.url).pathname,
    }));
    const client = testClient(app);
    await expectJson(await client.get("/items/{item_id}", { params: { item_id: "a b/c" } }), 200, {
      item_id: "a b/c",
      path: "/items/a%20b%2Fc",
    });
  });

  test("{id:int} templates take numbers, and :id templates are filled too", async () => {
    const app = new App()
      .get("/orders/{id:int}", {}, ({ params }) => ({ id: params.id }))
      .get("/users/:name/posts/:post", {}, ({ params }) => ({ ...params }));
    const client = testClient(app);
    await expectJson(await client.get("/orders/{id:int}", { params: { id: 42 } }), 200, { id: 42 });
    await expectJson(
      await client.get("/users/:name/posts/:post", { params: { name: "ada", post: "x y" } }),
      200,
      { name: "ada", post: "x y" },
    );
  });

  test("a path without parameters is sent as is, and a literal path works", async () => {
    const echo = await readEcho(await testClient(echoApp()).get("/echo"));
    assert.equal(echo.url, "http://testserver/echo");
  });

  test("a missing path param throws a TypeError naming it, before any request", async () => {
    let called = false;
    const app = new App().get("/items/{item_id}/{part}", {}, () => {
      called = true;
      return null;
    });
    const client = testClient(app);
    assert.throws(
      // The cast leaves out a key the types require, as untyped callers might.
      () => client.get("/items/{item_id}/{part}", { params: { item_id: 1 } as never }),
      (error: unknown) => error instanceof TypeError && /"part"/.test(error.message),
    );
    assert.throws(() => client.get("/users/:id"), TypeError);
    assert.equal(called, false);
  });

  test("baseUrl replaces http://testserver (a trailing slash ignored)", async () => {
    const echo = await readEcho(await testClient(echoApp(), { baseUrl: "https://api.test/" }).get("/echo"));
    assert.equal(echo.url, "https://api.test/echo");
  });
});

describe("query, headers and cookies", () => {
  test("query values are appended; arrays repeat the key; undefined values are skipped", async () => {
    const echo = await readEcho(
      await testClient(echoApp()).get("/echo", {
        query: { q: "a b", limit: 10, flag: true, tag: ["x", "y"], skipped: undefined, empty: "" },
      }),
    );
    const url = new URL(echo.url);
    assert.deepEqual(
      [...url.searchParams],
      [
        ["q", "a b"],
        ["limit", "10"],
        ["flag", "true"],
        ["tag", "x"],
        ["tag", "y"],
        ["empty", ""],
      ],
    );
  });

  test("default headers go with every request, and a request's own headers win", async () => {
    const client = testClient(echoApp(), { headers: { "x-team": "core", authorization: "Bearer default" } });
    const plain = await readEcho(await client.get("/echo"));
    assert.equal(plain.headers["x-team"], "core");
    assert.equal(plain.headers.authorization, "Bearer default");
    const own = await readEcho(
      await client.get("/echo", { headers: { Authorization: "Bearer mine", "x-extra": "1" } }),
    );
    assert.equal(own.headers["x-team"], "core");
    assert.equal(own.headers.authorization, "Bearer mine");
    assert.equal(own.headers["x-extra"], "1");
  });

  test("cookies are sent in one cookie header", async () => {
    const echo = await readEcho(
      await testClient(echoApp()).get("/echo", { cookies: { session: "abc", theme: "dark" } }),
    );
    assert.equal(echo.headers.cookie, "session=abc; theme=dark");
  });
});

describe("bodies", () => {
  test("json is serialized and sets content-type: application/json", async () => {
    const echo = await readEcho(
      await testClient(echoApp()).post("/echo", { json: { name: "Widget", n: [1] } }),
    );
    assert.equal(echo.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(echo.body), { name: "Widget", n: [1] });
  });

  test("json keeps a content-type the request sets itself", async () => {
    const echo = await readEcho(
      await testClient(echoApp()).put("/echo", {
        json: [1, 2],
        headers: { "content-type": "application/merge-patch+json" },
      }),
    );
    assert.equal(echo.headers["content-type"], "application/merge-patch+json");
    assert.equal(echo.body, "[1,2]");
  });

  test("form is URL-encoded; arrays repeat the field; undefined fields are skipped", async () => {
    const echo = await readEcho(
      await testClient(echoApp()).post("/echo", {
        form: { username: "ada lovelace", scope: ["read", "write"], remember: true, none: undefined },
      }),
    );
    assert.equal(echo.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(echo.body, "username=ada+lovelace&scope=read&scope=write&remember=true");
  });

  test("a raw body is sent as is", async () => {
    const echo = await readEcho(
      await testClient(echoApp()).patch("/echo", {
        body: "plain words",
        headers: { "content-type": "text/plain" },
      }),
    );
    assert.equal(echo.headers["content-type"], "text/plain");
    assert.equal(echo.body, "plain words");
  });
});

describe("methods", () => {
  test("every method helper sends its method", async () => {
    const client = testClient(echoApp());
    const sent = {
      GET: client.get("/echo"),
      POST: client.post("/echo"),
      PUT: client.put("/echo"),
      PATCH: client.patch("/echo"),
      DELETE: client.delete("/echo"),
      OPTIONS: client.options("/echo"),
      request: client.request("PATCH", "/echo"),
    };
    const seen: Record<string, string> = {};
    for (const [name, response] of Object.entries(sent)) seen[name] = (await readEcho(await response)).method;
    assert.deepEqual(seen, {
      GET: "GET",
      POST: "POST",
      PUT: "PUT",
      PATCH: "PATCH",
      DELETE: "DELETE",
      OPTIONS: "OPTIONS",
      request: "PATCH",
    });
  });

  test("head answers the GET route's status and headers without a body", async () => {
    const app = new App().get("/thing", {}, () => ({ name: "thing" }));
    const response = await testClient(app).head("/thing");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(await response.text(), "");
  });

  test("redirects are returned, not followed", async () => {
    let followed = false;
    const app = new App()
      .get("/old", {}, () => redirect("/new"))
      .get("/new", {}, () => {
        followed = true;
        return "new";
      });
    const response = await testClient(app).get("/old");
    assert.equal(response.status, 307);
    assert.equal(response.headers.get("location"), "/new");
    assert.equal(followed, false);
  });
});

describe("lifespan", () => {
  /** An app whose lifespan logs its phases and yields a state the route returns. */
  function lifespanApp(log: string[]): App {
    return new App({
      lifespan: async function* () {
        log.push("startup");
        yield asState({ greeting: "hello" });
        log.push("shutdown");
      },
    }).get("/", {}, ({ state }) => state);
  }

  test("`await using client = await testClient(app).start()` runs startup, and shutdown at the block's end", async () => {
    const log: string[] = [];
    const app = lifespanApp(log);
    {
      await using client = await testClient(app).start();
      assert.deepEqual(log, ["startup"]);
      await expectJson(await client.get("/"), 200, { greeting: "hello" });
      assert.deepEqual(log, ["startup"]);
    }
    assert.deepEqual(log, ["startup", "shutdown"]);
  });

  test("start and stop explicitly; stop twice runs shutdown once", async () => {
    const log: string[] = [];
    const client = testClient(lifespanApp(log));
    assert.equal(await client.start(), client);
    await expectJson(await client.get("/"), 200, { greeting: "hello" });
    await client.stop();
    await client.stop();
    assert.deepEqual(log, ["startup", "shutdown"]);
  });

  test("without start, the lifespan does not run and reading state answers 500", async () => {
    const log: string[] = [];
    const app = new App({
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      lifespan: async function* () {
        log.push("startup");
        yield {};
      },
    }).get("/", {}, ({ state }) => state);
    const client = testClient(app);
    assert.equal((await client.get("/")).status, 500);
    await client.stop();
    assert.deepEqual(log, []);
  });

  test("a client that was not started does not stop an app another client started", async () => {
    const log: string[] = [];
    const app = lifespanApp(log);
    await using running = await testClient(app).start();
    await testClient(app).stop();
    await expectJson(await running.get("/"), 200, { greeting: "hello" });
    assert.deepEqual(log, ["startup"]);
  });
});

describe("overrides", () => {
  const db = dependency(() => "real");
  /** An app whose route reports the db dependency's value. */
  function dbApp(): App {
    return new App().get("/", { deps: { db } }, ({ db }) => db);
  }

  test("apply during the client's life and are removed by stop", async () => {
    const app = dbApp();
    const client = testClient(app, { overrides: [[db, () => "fake"]] });
    await client.start();
    await expectJson(await client.get("/"), 200, "fake");
    await expectJson(await app.fetch(new Request("http://x/")), 200, "fake");
    await client.stop();
    assert.equal(app.overrides.has(db), false);
    await expectJson(await client.get("/"), 200, "real");
  });

  test("an override that existed before is restored, not deleted", async () => {
    const app = dbApp();
    const before = () => "before";
    app.overrides.set(db, before);
    {
      await using client = await testClient(app, { overrides: [[db, () => "during"]] }).start();
      await expectJson(await client.get("/"), 200, "during");
    }
    assert.equal(app.overrides.get(db), before);
    await expectJson(await testClient(app).get("/"), 200, "before");
  });

  test("a dependency overridden twice in one list restores the original", async () => {
    const app = dbApp();
    const client = testClient(app, {
      overrides: [
        [db, () => "first"],
        [db, dependency(() => "second")],
      ],
    });
    await expectJson(await client.get("/"), 200, "second");
    await client.stop();
    assert.equal(app.overrides.size, 0);
    await expectJson(await client.get("/"), 200, "real");
  });
});

describe("types", () => {
  // Never called: the checks are for `tsc --noEmit`.
  function typeChecks(app: App): void {
    const client = testClient(app);
    expectType<Equal<ReturnType<typeof client.get>, Promise<Response>>>();
    expectType<Equal<Awaited<ReturnType<typeof client.head>>, Response>>();
    void client.get("/items/{item_id}", { params: { item_id: 1 } });
    // @ts-expect-error -- itemId is not a parameter of the path
    void client.get("/items/{item_id}", { params: { itemId: 1 } });
  }

  test("the type checks above compile (see tsc)", () => {
    assert.equal(typeof typeChecks, "function");
  });
});
