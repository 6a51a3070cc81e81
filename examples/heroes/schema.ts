// The hero table, and the request and response schemas derived from it: the table is the one source of truth.
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { createInsertSchema, createSelectSchema, createUpdateSchema } from "drizzle-zod";
import type { z } from "zod";

export const hero = pgTable("hero", {
  id: integer().primaryKey().generatedAlwaysAsIdentity(),
  name: text().notNull(),
  age: integer(),
  secret_name: text().notNull(),
});

export type Hero = typeof hero.$inferSelect;

/**
 * PostgreSQL's `text` cannot hold a NUL character (the server would refuse the query): it is a 422 here, before
 * any query runs. drizzle-zod already bounds `integer` columns to PostgreSQL's 32-bit range.
 */
const storable = (schema: z.ZodString) =>
  schema.refine((value) => !value.includes("\0"), "Text cannot contain NUL");

const columns = { name: storable, secret_name: storable };

/** What `POST /heroes/` accepts: every column but the generated id. */
export const HeroCreate = createInsertSchema(hero, columns).meta({ id: "HeroCreate" });

/** What a hero looks like to a client: `secret_name` is never sent. */
export const HeroPublic = createSelectSchema(hero).omit({ secret_name: true }).meta({ id: "HeroPublic" });

/** What `PATCH /heroes/{hero_id}` accepts: any of the columns; `null` only where the column allows it. */
export const HeroUpdate = createUpdateSchema(hero, columns).meta({ id: "HeroUpdate" });

/** A hero id: an integer in the column's range (a larger one is a 422, not a database error). */
export const HeroId = createSelectSchema(hero).shape.id;
