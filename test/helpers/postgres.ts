// PostgreSQL for the database tests: the server DATABASE_URL names (CI starts Debian's with
// scripts/start-postgres.sh), and a database of its own for each test file, dropped afterwards, so that test files
// running at once never see each other's rows. Without DATABASE_URL the tests that need the server skip, saying
// why; under CI they fail instead, since CI must run them.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const DATABASE_URL: string | undefined = process.env.DATABASE_URL || undefined;

const MISSING =
  "DATABASE_URL is not set: start a PostgreSQL server (scripts/start-postgres.sh) and export its URL";

/** Options for a `describe` or `test` that needs the server: `{ skip: reason }` without one (and not under CI). */
export function postgresOptions(): { skip?: string } {
  if (DATABASE_URL !== undefined) return {};
  if (process.env.CI) throw new Error(`${MISSING}; CI runs the PostgreSQL tests`);
  return { skip: MISSING };
}

export interface TestDatabase {
  /** A connection URL to the new database, for the same role as DATABASE_URL's. */
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates an empty database on DATABASE_URL's server, named after `label`. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  if (DATABASE_URL === undefined) throw new Error(MISSING);
  const name = `brisk_${label.replace(/\W/g, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
