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
