// Smoke test of the benchmark apps in bench/apps/: each, compiled, starts the way the runner starts it and answers
// every workload's request once with the right status, and they all agree on the greetings. The db apps
// (bench/apps/db/) answer rows of a world table seeded in a database of the test's own, when PostgreSQL is there.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { checkResponses } from "../bench/lib/check.ts";
import { seedWorld, worldRows } from "../bench/lib/database.ts";
import { type Running, startServer } from "../bench/lib/process.ts";
import { DB_SERVERS, SERVERS, type Server } from "../bench/lib/servers.ts";
import { DB_WORKLOADS } from "../bench/lib/workloads.ts";
import { createTestDatabase, postgresOptions, type TestDatabase } from "./helpers/postgres.ts";
import { within } from "./hostile/raw-client.ts";

const VALID_ITEM = { name: "Widget", price: 9.99, tags: ["tools", "sale"], description: "A small widget" };
const INVALID_ITEM = { name: "", price: 0 };

/** FastAPI's body for INVALID_ITEM, which brisk must reproduce exactly. */
const FASTAPI_422 = {
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
};

const greetingsFile = new URL("../examples/greetings/greetings.json", import.meta.url);
const expectedList = Object.entries(JSON.parse(readFileSync(greetingsFile, "utf8")) as Record<string, string>)
  .sort(([a], [b]) => (a < b ? -1 : 1))
  .map(([lang, text]) => ({ lang, text }));

/** Resolves once the app printed `ready`; fails with its standard error if that takes over 20 s. */
function ready(running: Running): Promise<void> {
  return within(
    running.ready,
    20_000,
    () => `${running.server} did not print ready within 20 s: ${running.stderr()}`,
  );
}

async function call(url: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${url}${path}`, {
    signal: AbortSignal.timeout(5000),
    ...(body === undefined
      ? {}
      : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

const installed = existsSync(new URL("../bench/node_modules/fastify/package.json", import.meta.url));
const MISSING = "bench/node_modules is missing: `npm test` installs it (or run `npm run bench:install`)";

test("the bench dependencies are installed", () => {
  assert.ok(installed, MISSING);
});

describe("bench apps", () => {
  const running = new Map<Server, Running>();

  before(async () => {
    if (!installed) throw new Error(MISSING);
    // Started together (the runner starts them one at a time, through the same startServer): they are independent,
    // and one at a time would take several seconds longer.
    const started = await Promise.allSettled(SERVERS.map((server) => startServer(server)));
    started.forEach((result, index) => {
      if (result.status === "fulfilled") running.set(SERVERS[index]!, result.value);
    });
    const failed = started.filter((result) => result.status === "rejected");
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
    await Promise.all([...running.values()].map(ready));
  });

  after(async () => {
    await Promise.all([...running.values()].map((each) => each.stop()));
  });

  for (const server of SERVERS) {
    test(`${server} answers every workload`, async () => {
      const { url } = running.get(server)!;

      const list = await call(url, "/greetings");
      assert.equal(list.status, 200);
      assert.deepEqual(list.json, expectedList);

      const one = await call(url, "/greetings/en");
      assert.equal(one.status, 200);
      assert.deepEqual(one.json, { lang: "en", text: "Hello" });

      const created = await call(url, "/items", VALID_ITEM);
      assert.equal(created.status, 201);
      const { id, ...item } = created.json as { id: unknown };
      assert.equal(typeof id, "number");
      assert.deepEqual(item, VALID_ITEM);

      const invalid = await call(url, "/items", INVALID_ITEM);
      assert.ok(invalid.status >= 400 && invalid.status < 500, `items-invalid answered ${invalid.status}`);
      if (server === "brisk") {
        assert.equal(invalid.status, 422);
        assert.deepEqual(invalid.json, FASTAPI_422);
      }

      const page = await call(url, "/items?limit=10&offset=0");
      assert.equal(page.status, 200);
      assert.deepEqual(page.json, { limit: 10, offset: 0, total: 1, items: [{ id, ...VALID_ITEM }] });

      const badPage = await call(url, "/items?limit=0");
      assert.ok(badPage.status >= 400 && badPage.status < 500, `limit=0 answered ${badPage.status}`);
    });
  }
});

interface WorldRow {
  id: number;
  randomNumber: number;
}

describe("bench db apps", postgresOptions(), () => {
  const running = new Map<Server, Running>();
  let database: TestDatabase | undefined;

  before(async () => {
    if (!installed) throw new Error(MISSING);
    database = await createTestDatabase("bench_world");
    await seedWorld(database.url);
    const env = { DATABASE_URL: database.url };
    const started = await Promise.allSettled(
      DB_SERVERS.map((server) => startServer(server, undefined, "node", { suite: "db", env })),
    );
    started.forEach((result, index) => {
      if (result.status === "fulfilled") running.set(DB_SERVERS[index]!, result.value);
    });
    const failed = started.filter((result) => result.status === "rejected");
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
    await Promise.all([...running.values()].map(ready));
  });

  after(async () => {
    // Each app closes its pool on SIGTERM; the database goes after them.
    await Promise.all([...running.values()].map((each) => each.stop()));
    await database?.drop();
  });

  for (const server of DB_SERVERS) {
    test(`${server} answers rows of the world table`, async () => {
      const { url } = running.get(server)!;
      assert.deepEqual(await checkResponses(url, DB_WORKLOADS), new Map());

      const one = await call(url, "/db");
      const many = await call(url, "/queries?queries=20");
      assert.equal(one.status, 200);
      assert.equal(many.status, 200);
      const rows = [one.json as WorldRow, ...(many.json as WorldRow[])];
      const stored = await worldRows(
        database!.url,
        rows.map((row) => row.id),
      );
      for (const row of rows) assert.deepEqual(row, { id: row.id, randomNumber: stored.get(row.id) });

      // TechEmpower's rule for the count: 1 when absent, not an integer or below 1, and at most 500.
      for (const [query, count] of [
        ["", 1],
        ["?queries=0", 1],
        ["?queries=abc", 1],
        ["?queries=501", 500],
      ] as const) {
        const answer = await call(url, `/queries${query}`);
        assert.equal(answer.status, 200, `/queries${query}`);
        assert.equal((answer.json as WorldRow[]).length, count, `/queries${query}`);
      }
    });
  }
});
