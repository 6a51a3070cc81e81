// Plain node:http with hand-written routing and checks: the ceiling the frameworks are measured against.
// It does the same work per request (parse, validate, JSON.stringify) and nothing more.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  greetingList,
  greetings,
  HOST,
  type Item,
  ItemStore,
  port,
  ready,
  sendJson as send,
} from "./common.ts";

interface Issue {
  type: string;
  loc: (string | number)[];
  msg: string;
}

const BODY_LIMIT = 1024 * 1024;
const store = new ItemStore();

/** Validates an item the way the other apps' schemas do, collecting every issue. */
function checkItem(input: unknown): Item | Issue[] {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ type: "model_attributes_type", loc: ["body"], msg: "Input should be an object" }];
  }
  const { name, price, tags = [], description } = input as Record<string, unknown>;
  const issues: Issue[] = [];
  if (typeof name !== "string")
    issues.push({ type: "string_type", loc: ["body", "name"], msg: "Not a string" });
  else if (name.length < 1 || name.length > 100) {
    issues.push({ type: "string_length", loc: ["body", "name"], msg: "Length should be 1 to 100" });
  }
  if (typeof price !== "number" || !Number.isFinite(price)) {
    issues.push({ type: "number_type", loc: ["body", "price"], msg: "Not a number" });
  } else if (price <= 0) {
    issues.push({ type: "greater_than", loc: ["body", "price"], msg: "Input should be greater than 0" });
  }
  if (!Array.isArray(tags)) issues.push({ type: "list_type", loc: ["body", "tags"], msg: "Not a list" });
  else {
    if (tags.length > 10) issues.push({ type: "too_long", loc: ["body", "tags"], msg: "At most 10 tags" });
    tags.forEach((tag, index) => {
      if (typeof tag !== "string") {
        issues.push({ type: "string_type", loc: ["body", "tags", index], msg: "Not a string" });
      }
    });
  }
  if (description !== undefined && typeof description !== "string") {
    issues.push({ type: "string_type", loc: ["body", "description"], msg: "Not a string" });
  }
  if (issues.length > 0) return issues;
  const item: Item = { name: name as string, price: price as number, tags: tags as string[] };
  if (description !== undefined) item.description = description as string;
  return item;
}

/** An integer query parameter with bounds; `fallback` when absent. */
function intParam(
  query: URLSearchParams,
  key: string,
  fallback: number,
  min: number,
  max: number,
  issues: Issue[],
): number {
  const raw = query.get(key);
  if (raw === null) return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isNaN(value)) issues.push({ type: "int_parsing", loc: ["query", key], msg: "Not an integer" });
  else if (value < min || value > max) {
    issues.push({ type: "out_of_range", loc: ["query", key], msg: `Should be ${min} to ${max}` });
  }
  return value;
}

function createItem(req: IncomingMessage, res: ServerResponse): void {
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
    send(res, 415, { detail: "Unsupported Media Type" });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.byteLength;
    if (size <= BODY_LIMIT) chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > BODY_LIMIT) return send(res, 413, { detail: "Request Entity Too Large" });
    let input: unknown;
    try {
      input = JSON.parse(Buffer.concat(chunks, size).toString("utf8"));
    } catch {
      return send(res, 422, { detail: [{ type: "json_invalid", loc: ["body"], msg: "JSON decode error" }] });
    }
    const item = checkItem(input);
    if (Array.isArray(item)) send(res, 422, { detail: item });
    else send(res, 201, store.add(item));
  });
}

function listItems(search: string, res: ServerResponse): void {
  const query = new URLSearchParams(search);
  const issues: Issue[] = [];
  const limit = intParam(query, "limit", 10, 1, 100, issues);
  const offset = intParam(query, "offset", 0, 0, Number.MAX_SAFE_INTEGER, issues);
  if (issues.length > 0) send(res, 422, { detail: issues });
  else send(res, 200, store.page(limit, offset));
}

function oneGreeting(encoded: string, res: ServerResponse): void {
  let lang: string;
  try {
    lang = decodeURIComponent(encoded);
  } catch {
    send(res, 400, { detail: "Bad path" });
    return;
  }
  const text = greetings.get(lang);
  if (text === undefined) send(res, 404, { detail: `No greeting for '${lang}'` });
  else send(res, 200, { lang, text });
}

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  const question = url.indexOf("?");
  const path = question === -1 ? url : url.slice(0, question);
  const search = question === -1 ? "" : url.slice(question + 1);
  const method = req.method ?? "GET";
  if (path === "/greetings") {
    if (method === "GET") return send(res, 200, greetingList);
  } else if (path.startsWith("/greetings/") && path.indexOf("/", 11) === -1 && path.length > 11) {
    if (method === "GET") return oneGreeting(path.slice(11), res);
  } else if (path === "/items") {
    if (method === "POST") return createItem(req, res);
    if (method === "GET") return listItems(search, res);
  } else {
    return send(res, 404, { detail: "Not Found" });
  }
  send(res, 405, { detail: "Method Not Allowed" });
});

server.listen(port(), HOST, () => ready());
