// FastAPI's "SQL (Relational) Databases" tutorial, the heroes API, on PostgreSQL: through a connection pool when
// DATABASE_URL is set, else embedded (PGlite). Each request runs in a transaction of its own (transaction.ts). See
// "Databases" in the README.
import { App, HTTPException } from "briskjs";
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { type OpenDatabase, openDatabase } from "./database.ts";
import { HeroCreate, HeroId, HeroPublic, HeroUpdate, hero } from "./schema.ts";
import { transaction } from "./transaction.ts";

declare module "briskjs" {
  interface State {
    database: OpenDatabase;
  }
}

export const app: App = new App({
  title: "Heroes",
  async *lifespan(app) {
    const database = await openDatabase({
      url: process.env.DATABASE_URL,
      onIdleError: (error) => app.logger.warn(`an idle database connection failed: ${error.message}`),
    });
    try {
      yield { database };
    } finally {
      await database.close();
    }
  },
});

const byId = { params: { hero_id: HeroId }, response: HeroPublic };
const notFound = { 404: { description: "Hero not found" } };

app.post(
  "/heroes/",
  { body: HeroCreate, response: HeroPublic, deps: { tx: transaction } },
  async ({ body, tx }) => {
    const [created] = await tx.insert(hero).values(body).returning();
    return created!; // INSERT … RETURNING gives back the row it inserted
  },
);

app.get(
  "/heroes/",
  {
    query: { offset: z.int().min(0).default(0), limit: z.int().min(1).max(100).default(100) },
    response: z.array(HeroPublic),
    deps: { tx: transaction },
  },
  ({ query, tx }) => tx.select().from(hero).orderBy(asc(hero.id)).offset(query.offset).limit(query.limit),
);

app.get(
  "/heroes/{hero_id}",
  { ...byId, responses: notFound, deps: { tx: transaction } },
  async ({ params, tx }) => {
    const [found] = await tx.select().from(hero).where(eq(hero.id, params.hero_id));
    if (found === undefined) throw new HTTPException(404, "Hero not found");
    return found;
  },
);

app.patch(
  "/heroes/{hero_id}",
  { ...byId, body: HeroUpdate, responses: notFound, deps: { tx: transaction } },
  async ({ params, body, tx }) => {
    // Only the fields sent change; an empty body changes nothing and still needs the hero to exist.
    const [updated] =
      Object.keys(body).length === 0
        ? await tx.select().from(hero).where(eq(hero.id, params.hero_id))
        : await tx.update(hero).set(body).where(eq(hero.id, params.hero_id)).returning();
    if (updated === undefined) throw new HTTPException(404, "Hero not found");
    return updated;
  },
);

app.delete(
  "/heroes/{hero_id}",
  {
    params: { hero_id: HeroId },
    response: z.object({ ok: z.literal(true) }),
    responses: notFound,
    deps: { tx: transaction },
  },
  async ({ params, tx }) => {
    const deleted = await tx.delete(hero).where(eq(hero.id, params.hero_id)).returning({ id: hero.id });
    if (deleted.length === 0) throw new HTTPException(404, "Hero not found");
    return { ok: true as const };
  },
);
