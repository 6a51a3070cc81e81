// examples/heroes, FastAPI's SQL databases tutorial: every route on the embedded PGlite and on a real PostgreSQL
// (DATABASE_URL; skipped without one, except under CI), in-process through the test client; then, on PostgreSQL,
// what only a server shows: requests waiting on a lock while others are answered, several processes on one
// database, and a write answered 200 being visible to the next read anywhere.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { State } from "briskjs";
import { testClient } from "briskjs/testing";
import { eq, sql } from "drizzle-orm";
import pg from "pg";
import { app } from "../examples/heroes/app.ts";
import { hero } from "../examples/heroes/schema.ts";
import { transaction } from "../examples/heroes/transaction.ts";
import { exitCode, freePort, type Launched, launch, REPO, waitForStdout } from "./helpers/cli.ts";
import { createTestDatabase, postgresOptions, type TestDatabase } from "./helpers/postgres.ts";

// A route that writes and then fails, registered for these tests only: its write must be rolled back.
app.post("/test/write-then-fail", { hidden: true, deps: { tx: transaction } }, async ({ tx }) => {
  await tx.insert(hero).values({ name: "Never Saved", secret_name: "Ghost" });
  throw new Error("the handler failed after writing");
});

type Client = Awaited<ReturnType<ReturnType<typeof testClient>["start"]>>;

interface Mode {
  readonly name: string;
  readonly options: { skip?: string };
  /** Sets DATABASE_URL for the app's startup; returns what undoes it. */
  readonly setUp: () => Promise<() => Promise<void>>;
}

const MODES: readonly Mode[] = [
  {
    name: "PGlite (embedded, no DATABASE_URL)",
    options: {},
    setUp: async () => {
      const saved = process.env.DATABASE_URL;
      delete process.env.DATABASE_URL;
      return async () => {
        if (saved !== undefined) process.env.DATABASE_URL = saved;
      };
    },
  },
  {
    name: "PostgreSQL (DATABASE_URL)",
    options: postgresOptions(),
    setUp: async () => {
      const database = await createTestDatabase("heroes");
      const saved = process.env.DATABASE_URL;
      process.env.DATABASE_URL = database.url;
      return async () => {
        process.env.DATABASE_URL = saved;
        await database.drop();
      };
    },
  },
];

/** Every body a test read, so that one check can say `secret_name` was in none. */
const bodies: unknown[] = [];

async function json(response: Response): Promise<unknown> {
  const body = await response.json();
  bodies.push(body);
  return body;
}

for (const mode of MODES) {
  describe(`the heroes API on ${mode.name}`, mode.options, () => {
    let client: Client;
    let tearDown: () => Promise<void>;
    /** The database the app opened, to look at what the API does not show (secret_name, row counts). */
    let db: State["database"]["db"];

    before(async () => {
      tearDown = await mode.setUp();
      client = await testClient(app).start();
      db = (await app.start()).database.db; // started already: this is its state
    });
    after(async () => {
      await client.stop();
      await tearDown();
    });

    const create = (body: unknown) => client.post("/heroes/", { json: body });
    const count = async () => {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(hero);
      return row!.n;
    };

    test("POST /heroes/ creates a hero: 200 with id, name and age, never secret_name", async () => {
      const deadpond = await create({ name: "Deadpond", secret_name: "Dive Wilson" });
      assert.equal(deadpond.status, 200);
      assert.deepEqual(await json(deadpond), { id: 1, name: "Deadpond", age: null });
      const rusty = await create({ name: "Rusty-Man", age: 48, secret_name: "Tommy Sharp" });
      assert.deepEqual(await json(rusty), { id: 2, name: "Rusty-Man", age: 48 });
      const [stored] = await db.select().from(hero).where(eq(hero.id, 2));
      assert.equal(stored?.secret_name, "Tommy Sharp", "secret_name is stored");
    });

    test("GET /heroes/ lists by id, with offset and limit (0 and 100 by default)", async () => {
      await create({ name: "Spider-Boy", secret_name: "Pedro Parqueador" });
      assert.deepEqual(await json(await client.get("/heroes/")), [
        { id: 1, name: "Deadpond", age: null },
        { id: 2, name: "Rusty-Man", age: 48 },
        { id: 3, name: "Spider-Boy", age: null },
      ]);
      const page = await client.get("/heroes/", { query: { offset: 1, limit: 1 } });
      assert.deepEqual(await json(page), [{ id: 2, name: "Rusty-Man", age: 48 }]);
      assert.deepEqual(await json(await client.get("/heroes/", { query: { offset: 10 } })), []);
    });

    test("GET /heroes/{hero_id}: the hero, or 404 Hero not found", async () => {
      const found = await client.get("/heroes/{hero_id}", { params: { hero_id: 3 } });
      assert.deepEqual(await json(found), { id: 3, name: "Spider-Boy", age: null });
      const missing = await client.get("/heroes/{hero_id}", { params: { hero_id: 99 } });
      assert.equal(missing.status, 404);
      assert.deepEqual(await json(missing), { detail: "Hero not found" });
    });

    test("PATCH /heroes/{hero_id} changes only the fields sent; null clears age", async () => {
      const aged = await client.patch("/heroes/{hero_id}", { params: { hero_id: 3 }, json: { age: 16 } });
      assert.equal(aged.status, 200);
      assert.deepEqual(await json(aged), { id: 3, name: "Spider-Boy", age: 16 });
      const renamed = await client.patch("/heroes/{hero_id}", {
        params: { hero_id: 3 },
        json: { name: "Spider-Youngster", secret_name: "Pedro" },
      });
      assert.deepEqual(await json(renamed), { id: 3, name: "Spider-Youngster", age: 16 });
      const cleared = await client.patch("/heroes/{hero_id}", {
        params: { hero_id: 3 },
        json: { age: null },
      });
      assert.deepEqual(await json(cleared), { id: 3, name: "Spider-Youngster", age: null });
      const unchanged = await client.patch("/heroes/{hero_id}", { params: { hero_id: 3 }, json: {} });
      assert.deepEqual(await json(unchanged), { id: 3, name: "Spider-Youngster", age: null });
      const [stored] = await db.select().from(hero).where(eq(hero.id, 3));
      assert.equal(stored?.secret_name, "Pedro");
      const missing = await client.patch("/heroes/{hero_id}", { params: { hero_id: 99 }, json: { age: 1 } });
      assert.equal(missing.status, 404);
      assert.deepEqual(await json(missing), { detail: "Hero not found" });
    });

    test("DELETE /heroes/{hero_id}: {ok: true}, then 404", async () => {
      const deleted = await client.delete("/heroes/{hero_id}", { params: { hero_id: 3 } });
      assert.equal(deleted.status, 200);
      assert.deepEqual(await json(deleted), { ok: true });
      const again = await client.delete("/heroes/{hero_id}", { params: { hero_id: 3 } });
      assert.equal(again.status, 404);
      assert.deepEqual(await json(again), { detail: "Hero not found" });
      assert.equal((await client.get("/heroes/{hero_id}", { params: { hero_id: 3 } })).status, 404);
    });

    test("bad input is a 422 before any query, and changes nothing: nulls, ranges, types, NUL characters", async () => {
      const before = await count();
      const cases: [string, Promise<Response>, string][] = [
        [
          "name null",
          client.patch("/heroes/{hero_id}", { params: { hero_id: 1 }, json: { name: null } }),
          "name",
        ],
        [
          "secret_name null",
          client.patch("/heroes/{hero_id}", { params: { hero_id: 1 }, json: { secret_name: null } }),
          "secret_name",
        ],
        ["negative offset", client.get("/heroes/", { query: { offset: -1 } }), "offset"],
        ["limit 101", client.get("/heroes/", { query: { limit: 101 } }), "limit"],
        ["limit 0", client.get("/heroes/", { query: { limit: 0 } }), "limit"],
        ["offset not a number", client.get("/heroes/", { query: { offset: "abc" } }), "offset"],
        ["id not a number", client.get("/heroes/{hero_id}", { params: { hero_id: "abc" } }), "hero_id"],
        ["id past int32", client.get("/heroes/{hero_id}", { params: { hero_id: 2 ** 31 } }), "hero_id"],
        [
          "id past int32 (delete)",
          client.delete("/heroes/{hero_id}", { params: { hero_id: 2 ** 40 } }),
          "hero_id",
        ],
        ["missing secret_name", create({ name: "Nameless" }), "secret_name"],
        ["name a number", create({ name: 5, secret_name: "x" }), "name"],
        ["age a string", create({ name: "A", secret_name: "x", age: "old" }), "age"],
        ["age past int32", create({ name: "A", secret_name: "x", age: 2 ** 31 }), "age"],
        ["age below int32", create({ name: "A", secret_name: "x", age: -(2 ** 31) - 1 }), "age"],
        ["NUL in name", create({ name: "Dead\u0000pond", secret_name: "x" }), "name"],
        [
          "NUL in secret_name (patch)",
          client.patch("/heroes/{hero_id}", { params: { hero_id: 1 }, json: { secret_name: "\u0000" } }),
          "secret_name",
        ],
        ["age a float", create({ name: "A", secret_name: "x", age: 1.5 }), "age"],
        ["a lone surrogate in name", create({ name: "Dead\ud800pond", secret_name: "x" }), "name"],
      ];
      for (const [name, pending, field] of cases) {
        const response = await pending;
        assert.equal(response.status, 422, name);
        const body = (await json(response)) as { detail: { loc: string[] }[] };
        assert.ok(
          body.detail.some((issue) => issue.loc.at(-1) === field),
          `${name}: ${JSON.stringify(body)}`,
        );
      }
      assert.equal(await count(), before);
    });

    test("a request that writes and then fails leaves no row behind (its transaction is rolled back)", async () => {
      const before = await count();
      const failed = await client.post("/test/write-then-fail");
      assert.equal(failed.status, 500);
      assert.equal(await count(), before);
    });

    test("secret_name is in no response body: no such key, none of the secret names", () => {
      assert.ok(bodies.length > 20);
      const keys = new Set<string>();
      JSON.stringify(bodies, (key, value) => {
        keys.add(key);
        return value;
      });
      assert.ok(!keys.has("secret_name"));
      for (const secret of ["Dive Wilson", "Tommy Sharp", "Pedro"])
        assert.ok(!JSON.stringify(bodies).includes(secret), secret);
    });
  });
}

const SERVING = /"?serving \S+ at (http:\/\/[^\s"]+)/;

/** `brisk serve examples/heroes/app.ts:app` on `database`, resolved once it serves, with its address. */
async function serveHeroes(
  url: string,
  args: readonly string[] = [],
): Promise<{ process: Launched; base: string }> {
  const port = await freePort();
  const served = launch(
    ["serve", "examples/heroes/app.ts:app", "--port", String(port), "--no-access-log", ...args],
    REPO,
    { DATABASE_URL: url },
  );
  const [, base] = await waitForStdout(served, SERVING);
  return { process: served, base: base! };
}

async function stop(served: { process: Launched }): Promise<void> {
  served.process.child.kill("SIGTERM");
  assert.equal(await exitCode(served.process), 0, served.process.output());
}

const post = (base: string, body: unknown) =>
  fetch(`${base}/heroes/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("the heroes API served by brisk serve on PostgreSQL", postgresOptions(), () => {
  let database: TestDatabase;
  let a: { process: Launched; base: string };
  let b: { process: Launched; base: string };

  before(async () => {
    database = await createTestDatabase("heroes_serve");
    // Started at once on an empty database: both migrate, one after the other (an advisory lock), and both serve.
    [a, b] = await Promise.all([serveHeroes(database.url), serveHeroes(database.url)]);
  });
  after(async () => {
    await Promise.all([a, b].filter(Boolean).map(stop));
    await database.drop();
  });

  test("while a lock holds every hero query, 50 hero requests wait and the server still answers at once", async () => {
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await (await fetch(`${a.base}/openapi.json`)).text(); // the document is built on its first request
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE hero IN ACCESS EXCLUSIVE MODE");
      let settled = 0;
      const pending = Array.from({ length: 50 }, (_, index) =>
        (index % 2 === 0
          ? post(a.base, { name: `Waiting ${index}`, secret_name: "s" })
          : fetch(`${a.base}/heroes/?limit=1`)
        ).finally(() => settled++),
      );
      // Give the requests time to reach the database and block there.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(settled, 0, "every hero request waits for the lock");
      const started = performance.now();
      const document = await fetch(`${a.base}/openapi.json`);
      const elapsed = performance.now() - started;
      assert.equal(document.status, 200);
      assert.ok(elapsed < 100, `GET /openapi.json took ${elapsed.toFixed(1)} ms while 50 requests waited`);
      assert.equal(settled, 0);
      await locker.query("COMMIT");
      const responses = await Promise.all(pending);
      assert.deepEqual(
        responses.map((response) => response.status),
        responses.map(() => 200),
      );
      const created = await Promise.all(responses.filter((_, index) => index % 2 === 0).map((r) => r.json()));
      assert.equal(new Set(created.map((hero) => (hero as { id: number }).id)).size, 25);
    } finally {
      await locker.end();
    }
  });

  test("a hero created through one process is read, updated and deleted through the other", async () => {
    const created = (await (await post(a.base, { name: "Crossover", secret_name: "x" })).json()) as {
      id: number;
    };
    const read = await fetch(`${b.base}/heroes/${created.id}`);
    assert.deepEqual(await read.json(), { id: created.id, name: "Crossover", age: null });
    const updated = await fetch(`${b.base}/heroes/${created.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ age: 33 }),
    });
    assert.deepEqual(await updated.json(), { id: created.id, name: "Crossover", age: 33 });
    assert.deepEqual(await (await fetch(`${a.base}/heroes/${created.id}`)).json(), {
      id: created.id,
      name: "Crossover",
      age: 33,
    });
    const deleted = await fetch(`${b.base}/heroes/${created.id}`, { method: "DELETE" });
    assert.deepEqual(await deleted.json(), { ok: true });
    assert.equal((await fetch(`${a.base}/heroes/${created.id}`)).status, 404);
  });

  test("a create answered 200 is visible to an immediate read through the other process, every time", async () => {
    for (let round = 0; round < 100; round++) {
      const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a];
      const response = await post(writer.base, { name: `Round ${round}`, secret_name: "s" });
      assert.equal(response.status, 200);
      const { id } = (await response.json()) as { id: number };
      const read = await fetch(`${reader.base}/heroes/${id}`);
      assert.equal(
        read.status,
        200,
        `round ${round}: hero ${id} created through one process is not yet visible`,
      );
    }
  });
});

describe("--workers with the heroes API", () => {
  test(
    "on PostgreSQL, 100 creates through the shared port are all in the list",
    postgresOptions(),
    async () => {
      const database = await createTestDatabase("heroes_workers");
      const served = await serveHeroes(database.url, ["--workers", "2"]);
      try {
        const statuses = await Promise.all(
          Array.from({ length: 100 }, (_, index) =>
            post(served.base, { name: `Hero ${index}`, secret_name: "s" }),
          ),
        ).then((responses) => responses.map((response) => response.status));
        assert.deepEqual(statuses, Array(100).fill(200));
        const list = (await (await fetch(`${served.base}/heroes/?limit=100`)).json()) as { name: string }[];
        assert.equal(list.length, 100);
        assert.deepEqual(
          new Set(list.map((hero) => hero.name)),
          new Set(Array.from({ length: 100 }, (_, index) => `Hero ${index}`)),
        );
      } finally {
        await stop(served);
        await database.drop();
      }
    },
  );

  test("on the embedded database, startup fails with one line that names DATABASE_URL", async () => {
    const served = launch(["serve", "examples/heroes/app.ts:app", "--port", "0", "--workers", "2"], REPO, {
      DATABASE_URL: "",
    });
    assert.equal(await exitCode(served), 1);
    const lines = served
      .stderr()
      .split("\n")
      .filter((line) => line.includes("DATABASE_URL"));
    assert.ok(lines.length >= 1, served.output());
    assert.match(lines[0]!, /^brisk: The embedded database \(PGlite\) serves one process: set DATABASE_URL/);
    assert.doesNotMatch(served.stderr(), /^\s+at /m, "no stack trace");
  });
});
