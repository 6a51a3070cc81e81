// The database the heroes live in: PostgreSQL through a connection pool when DATABASE_URL names a server, else
// PGlite, PostgreSQL compiled to WebAssembly and run in this process (data in memory, or in PGLITE_DIR). Both are
// driven by Drizzle with the same schema and the same SQL, and migrated at startup.
import cluster from "node:cluster";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { BriskError } from "briskjs";
import { drizzle as drizzlePostgres } from "drizzle-orm/node-postgres";
import { migrate as migratePostgres } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";

/** The queries a request makes: a Drizzle database, or a transaction of one (they have the same API). */
export type Database = PgDatabase<PgQueryResultHKT>;

export interface OpenDatabase {
  readonly db: Database;
  /** `"postgres"` (a server, through a pool) or `"pglite"` (embedded). */
  readonly kind: "postgres" | "pglite";
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/** Any 64-bit number the app's processes agree on: the advisory lock they take to migrate one at a time. */
const MIGRATION_LOCK = 7_355_608_001;

export interface DatabaseOptions {
  /** A `postgres://` URL; without one, the embedded PGlite. */
  readonly url?: string | undefined;
  /** Connections the pool may open (a server's); each request holds one for its transaction. */
  readonly poolSize?: number;
  /** Told of a pooled connection that failed while idle (the pool replaces it). */
  readonly onIdleError?: (error: Error) => void;
}

/** Opens the database and brings its tables up to date. */
export async function openDatabase(options: DatabaseOptions = {}): Promise<OpenDatabase> {
  return options.url ? openPostgres(options.url, options) : openPglite();
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<OpenDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // A pooled connection that the server drops (a restart, a failover) is an error event on the idle client, which
  // would otherwise crash the process: the pool discards the client and opens another when next asked.
  pool.on("error", (error) => options.onIdleError?.(error));
  const db = drizzlePostgres({ client: pool });
  // Several processes may start at once (--workers, or several hosts): each waits for the lock, so the first
  // applies the migrations and the others find them applied.
  const lock = await pool.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await migratePostgres(db, { migrationsFolder });
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    lock.release();
  }
  return { db, kind: "postgres", close: () => pool.end() };
}

async function openPglite(): Promise<OpenDatabase> {
  // An embedded database belongs to one process: a second would see other data, or none.
  if (cluster.isWorker) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      "The embedded database (PGlite) serves one process: set DATABASE_URL to a PostgreSQL server to run --workers",
    );
  }
  const client = new PGlite(process.env.PGLITE_DIR);
  const db = drizzlePglite({ client });
  await migratePglite(db, { migrationsFolder });
  return { db, kind: "pglite", close: () => client.close() };
}
