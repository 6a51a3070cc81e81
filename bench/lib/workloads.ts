// The requests measured: one route each, the same for every server.

export interface Workload {
  readonly name: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  /** A JSON body, sent with content-type application/json. */
  readonly body?: string;
  /** The status every response must have: an exact code, or "4xx" where frameworks differ (400 or 422). */
  readonly expect: 200 | 201 | "4xx";
  readonly summary: string;
  /** What is wrong with a response's JSON body, checked once before the load; undefined when it is right. */
  readonly checkBody?: (body: unknown) => string | undefined;
}

export const VALID_ITEM =
  '{"name":"Widget","price":9.99,"tags":["tools","sale"],"description":"A small widget"}';
export const INVALID_ITEM = '{"name":"","price":0}';

export const WORKLOADS: readonly Workload[] = [
  {
    name: "greetings-list",
    method: "GET",
    path: "/greetings",
    expect: 200,
    summary: "GET /greetings: seven greetings through the response schema",
  },
  {
    name: "greeting-one",
    method: "GET",
    path: "/greetings/en",
    expect: 200,
    summary: "GET /greetings/en: a path parameter, one object out",
  },
  {
    name: "items-create",
    method: "POST",
    path: "/items",
    body: VALID_ITEM,
    expect: 201,
    summary: "POST /items with a valid JSON body: read, parse, validate, store, 201",
  },
  {
    name: "items-invalid",
    method: "POST",
    path: "/items",
    body: INVALID_ITEM,
    expect: "4xx",
    summary: "POST /items with two invalid fields: each framework's own validation error",
  },
  {
    name: "items-page",
    method: "GET",
    path: "/items?limit=10&offset=0",
    expect: 200,
    summary: "GET /items?limit=10&offset=0: two coerced integer query parameters, ten items out",
  },
];

/** TechEmpower's world table has ids 1 to 10,000, each with a random number in the same range. */
const WORLD_ROWS = 10_000;
/** The rows db-multiple asks for. */
export const QUERIES = 20;

function inWorld(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= WORLD_ROWS;
}

/** What is wrong with a world row: exactly `{"id":N,"randomNumber":M}`, both 1 to 10,000. */
export function worldRowProblem(row: unknown): string | undefined {
  const text = JSON.stringify(row);
  if (typeof row !== "object" || row === null || Array.isArray(row)) return `${text} is not an object`;
  const keys = Object.keys(row).sort().join(",");
  if (keys !== "id,randomNumber") return `${text} should have exactly id and randomNumber`;
  const { id, randomNumber } = row as Record<string, unknown>;
  if (!inWorld(id) || !inWorld(randomNumber)) return `${text} should hold integers from 1 to ${WORLD_ROWS}`;
  return undefined;
}

function worldRowsProblem(body: unknown, count: number): string | undefined {
  if (!Array.isArray(body) || body.length !== count) return `expected an array of ${count} world rows`;
  for (const row of body) {
    const problem = worldRowProblem(row);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * TechEmpower's database tests, served by the db apps (brisk, Fastify and plain node) from PostgreSQL: a random
 * row by id per query, the same driver and pool in every app (`npm run bench -- --db`).
 */
export const DB_WORKLOADS: readonly Workload[] = [
  {
    name: "db-single",
    method: "GET",
    path: "/db",
    expect: 200,
    summary: "GET /db: one row of the world table by a random id, as one JSON object",
    checkBody: worldRowProblem,
  },
  {
    name: "db-multiple",
    method: "GET",
    path: `/queries?queries=${QUERIES}`,
    expect: 200,
    summary: `GET /queries?queries=${QUERIES}: ${QUERIES} rows by random ids, a query each, as a JSON array`,
    checkBody: (body) => worldRowsProblem(body, QUERIES),
  },
];

export function statusMatches(expect: Workload["expect"], status: number): boolean {
  return expect === "4xx" ? status >= 400 && status < 500 : status === expect;
}

/** The wrk script for a workload with a method or body other than a plain GET. */
export function luaScript(workload: Workload): string | undefined {
  if (workload.body === undefined && workload.method === "GET") return undefined;
  const lines = [`wrk.method = "${workload.method}"`];
  if (workload.body !== undefined) {
    lines.push('wrk.headers["Content-Type"] = "application/json"');
    // A long bracket needs no escaping of the JSON inside.
    lines.push(`wrk.body = [==[${workload.body}]==]`);
  }
  return `${lines.join("\n")}\n`;
}
