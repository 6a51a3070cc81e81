// The PostgreSQL database of the db workloads: TechEmpower's `world` table (ids 1 to 10,000, each with a random
// number 1 to 10,000) in a database of its own, `brisk_bench`, on the server DATABASE_URL names.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import pg from "pg";
import { POOL_SIZE, WORLD_ROWS } from "../apps/db/world.ts";
import { ROOT } from "./servers.ts";

/** The database the runner creates for the world table, beside the one DATABASE_URL names. */
export const BENCH_DATABASE = "brisk_bench";

const MISSING =
  "DATABASE_URL is not set: the db workloads need PostgreSQL. Start one with scripts/start-postgres.sh (as root) " +
  'and export its URL: export DATABASE_URL="$(scripts/start-postgres.sh)"';

/**
 * The server's URL: DATABASE_URL, or, run as root without it, the URL scripts/start-postgres.sh prints once it has
 * started Debian's server (as the runner installs wrk as root).
 */
export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (url !== undefined && url !== "") return url;
  if (process.getuid?.() !== 0) throw new Error(MISSING);
  console.error("DATABASE_URL is not set: starting PostgreSQL with scripts/start-postgres.sh");
  const started = spawnSync("bash", [join(ROOT, "scripts", "start-postgres.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const printed = started.stdout.trim().split("\n").pop() ?? "";
  if (started.status !== 0 || !printed.startsWith("postgres")) {
    throw new Error(`scripts/start-postgres.sh failed (exit ${started.status}). ${MISSING}`);
  }
  return printed;
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Creates `name` on the server of `url` unless it exists (the role needs CREATEDB); returns its URL. */
export async function ensureDatabase(url: string, name: string = BENCH_DATABASE): Promise<string> {
  await withClient(url, async (client) => {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  });
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.href;
}

/**
 * Creates and fills the world table in the database of `url` unless it already holds exactly ids 1 to 10,000:
 * idempotent, so every run reads the same rows. The column is `"randomNumber"`, quoted, so that a row comes back as
 * the JSON object the workloads answer (TechEmpower's unquoted column reads back as `randomnumber`).
 */
export async function seedWorld(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(
      'CREATE TABLE IF NOT EXISTS world (id integer PRIMARY KEY, "randomNumber" integer NOT NULL)',
    );
    const { rows } = await client.query<{ count: string; low: number | null; high: number | null }>(
      "SELECT count(*) AS count, min(id) AS low, max(id) AS high FROM world",
    );
    const { count, low, high } = rows[0]!;
    if (Number(count) === WORLD_ROWS && low === 1 && high === WORLD_ROWS) return;
    await client.query("BEGIN");
    await client.query("TRUNCATE world");
    await client.query(
      'INSERT INTO world (id, "randomNumber") SELECT id, 1 + floor(random() * $1)::integer ' +
        "FROM generate_series(1, $1::integer) AS id",
      [WORLD_ROWS],
    );
    await client.query("COMMIT");
    await client.query("ANALYZE world");
  });
}

/** The world table's random number for each id asked, to check what the apps answer against it. */
export async function worldRows(url: string, ids: readonly number[]): Promise<Map<number, number>> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: number; randomNumber: number }>(
      'SELECT id, "randomNumber" FROM world WHERE id = ANY($1::integer[])',
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row.randomNumber]));
  });
}

/** The server's version, for the report: "15.14 (Debian 15.14-0+deb12u1)". */
export function serverVersion(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version ?? "?";
  });
}

/** The pids of the server processes connected to the database of `url`, other than this query's own. */
export function backendPids(url: string): Promise<number[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    return rows.map((row) => row.pid);
  });
}

export interface PreparedWorld {
  /** The db apps' environment: DATABASE_URL naming the bench database. */
  readonly env: Record<string, string>;
  /** A line for the report. */
  readonly description: string;
}

/** The server (serverUrl()), the bench database on it and its world table, ready for the db apps. */
export async function prepareWorld(): Promise<PreparedWorld> {
  const url = await ensureDatabase(serverUrl());
  await seedWorld(url);
  return {
    env: { DATABASE_URL: url },
    description:
      `PostgreSQL ${await serverVersion(url)} on this machine (its processes not pinned: they run on both cores), ` +
      `database ${BENCH_DATABASE} with the ${WORLD_ROWS.toLocaleString("en-US")}-row world table; each app ` +
      `queries it through a pg.Pool of ${POOL_SIZE} connections`,
  };
}
