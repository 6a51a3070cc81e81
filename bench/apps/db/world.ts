// What the db apps share: the pool, the query and TechEmpower's rules for its two tests, so that the apps differ
// only in how their framework routes, validates and serializes. All three use node-postgres (`pg`) with the same
// pool, and answer `/queries` with its rows queried concurrently, each on a connection of its own from the pool.
import pg from "pg";

export interface World {
  id: number;
  randomNumber: number;
}

export const WORLD_ROWS = 10_000;

/** Connections per app: the same for every app, and more than PostgreSQL's two cores here can keep busy. */
export const POOL_SIZE = 16;

/** The pool on the database the runner prepared (DATABASE_URL); connections open on first use. */
export function createPool(): pg.Pool {
  const connectionString = process.env.DATABASE_URL;
  if (connectionString === undefined || connectionString === "") {
    throw new Error(
      "DATABASE_URL must name the database with the world table (npm run bench -- --db sets it)",
    );
  }
  return new pg.Pool({ connectionString, max: POOL_SIZE });
}

// A named statement: each connection parses and plans it once, then only binds and executes it.
const SELECT_WORLD = 'SELECT id, "randomNumber" FROM world WHERE id = $1';

/** One row by a random id from 1 to 10,000, TechEmpower's single query. */
export async function randomWorld(pool: pg.Pool): Promise<World> {
  const id = 1 + Math.floor(Math.random() * WORLD_ROWS);
  const { rows } = await pool.query<World>({ name: "world", text: SELECT_WORLD, values: [id] });
  return rows[0]!;
}

/** `count` rows, each its own query, issued together: TechEmpower's multiple queries. */
export function randomWorlds(pool: pg.Pool, count: number): Promise<World[]> {
  const queries: Promise<World>[] = [];
  for (let i = 0; i < count; i++) queries.push(randomWorld(pool));
  return Promise.all(queries);
}

/**
 * TechEmpower's reading of `?queries=`: an integer, 1 when absent or not an integer, and clamped to 1..500. For the
 * apps without a schema for it; brisk's declares the same rule as a Zod schema.
 */
export function queryCount(text: string | null | undefined): number {
  const value = typeof text === "string" && /^\s*[+-]?\d+(?:\.0*)?\s*$/.test(text) ? Number(text) : 0;
  return Math.min(Math.max(value, 1), 500);
}
