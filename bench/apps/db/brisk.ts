// brisk on the db workloads: the pool opened by the app's lifespan and read from `state`, `?queries=` read by a Zod
// schema with TechEmpower's rule, and `response` schemas; served by listen() as bench/apps/brisk.ts is.
import { App, listen } from "briskjs";
import type pg from "pg";
import { z } from "zod";
import { HOST, port, ready } from "../common.ts";
import { createPool, randomWorld, randomWorlds } from "./world.ts";

declare module "briskjs" {
  interface State {
    db: pg.Pool;
  }
}

const World = z.object({ id: z.int(), randomNumber: z.int() }).meta({ id: "World" });

/** TechEmpower's `queries`: 1 when absent or not an integer, clamped to 1..500. */
const Queries = z
  .int()
  .catch(1)
  .transform((count) => Math.min(Math.max(count, 1), 500));

export const app: App = new App({
  title: "bench-db",
  async *lifespan() {
    const db = createPool();
    try {
      yield { db };
    } finally {
      await db.end();
    }
  },
});

app.get("/db", { response: World }, ({ state }) => randomWorld(state.db));

app.get("/queries", { query: { queries: Queries }, response: z.array(World) }, ({ query, state }) =>
  randomWorlds(state.db, query.queries),
);

await listen(app, { host: HOST, port: port() });
ready();
