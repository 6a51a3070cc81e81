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
 * Text PostgreSQL can store as sent: not a NUL character (the server would refuse the query), nor half of a
 * surrogate pair (JSON allows `"\ud800"`, UTF-8 has no encoding for it, and the driver would store U+FFFD in its
 * place). Both are 422s here, before any query runs. drizzle-zod already bounds `integer` columns to PostgreSQL's
 * 32-bit range.
 */
const storable = (schema: z.ZodString) =>
  schema
    .refine((value) => !value.includes("\0"), "Text cannot contain NUL")
    .refine((value) => !LONE_SURROGATE.test(value), "Text cannot contain a lone surrogate");

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const columns = { name: storable, secret_name: storable };

/** What `POST /heroes/` accepts: every column but the generated id. */
export const HeroCreate = createInsertSchema(hero, columns).meta({ id: "HeroCreate" });

/** What a hero looks like to a client: `secret_name` is never sent. */
export const HeroPublic = createSelectSchema(hero).omit({ secret_name: true }).meta({ id: "HeroPublic" });

/** What `PATCH /heroes/{hero_id}` accepts: any of the columns; `null` only where the column allows it. */
export const HeroUpdate = createUpdateSchema(hero, columns).meta({ id: "HeroUpdate" });

/** A hero id: an integer in the column's range (a larger one is a 422, not a database error). */
export const HeroId = createSelectSchema(hero).shape.id;
