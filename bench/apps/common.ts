// What every bench app shares: the greetings, the capped item store, the port and the ready signal.
// Keeping the data and the store here means the apps differ only in how their framework routes, validates and
// serializes.
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";

export interface Greeting {
  lang: string;
  text: string;
}

export interface Item {
  name: string;
  price: number;
  tags: string[];
  description?: string | undefined;
}

export type StoredItem = { id: number } & Item;

export interface ItemPage {
  limit: number;
  offset: number;
  total: number;
  items: StoredItem[];
}

const file = new URL("../../examples/greetings/greetings.json", import.meta.url);

/** By language; a Map, so that /greetings/constructor finds nothing. */
export const greetings: ReadonlyMap<string, string> = new Map(
  Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>),
);

/** Sorted once: the benchmark measures the framework, not a seven-element sort. */
export const greetingList: Greeting[] = [...greetings]
  .sort(([a], [b]) => (a < b ? -1 : 1))
  .map(([lang, text]) => ({ lang, text }));

/** The store keeps only the latest items, so memory stays flat however long the load runs. */
export const ITEM_CAP = 1000;

export class ItemStore {
  readonly #items: StoredItem[] = [];
  #nextId = 1;

  add(item: Item): StoredItem {
    const stored = { id: this.#nextId++, ...item };
    this.#items.push(stored);
    if (this.#items.length > ITEM_CAP) this.#items.shift();
    return stored;
  }

  page(limit: number, offset: number): ItemPage {
    return { limit, offset, total: this.#items.length, items: this.#items.slice(offset, offset + limit) };
  }
}

/** The port the runner chose; the apps refuse to guess one. */
export function port(): number {
  const value = Number(process.env.PORT);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new Error(`PORT must be a TCP port number, got ${JSON.stringify(process.env.PORT)}`);
  }
  return value;
}

export const HOST = "127.0.0.1";

/** Tells the runner the server is listening. */
export function ready(): void {
  process.stdout.write("ready\n");
}

/** A JSON answer with its length, as the plain node:http apps write every response. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
