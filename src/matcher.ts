import type { PathTemplate } from "./path.ts";

/** What a request's method and path found. */
export type Match<Value> =
  | { readonly kind: "found"; readonly value: Value; readonly params: readonly string[] }
  | { readonly kind: "method-not-allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not-found" };

interface Entry<Value> {
  /** Registration order: the lower wins. */
  readonly order: number;
  readonly methods: readonly string[];
  readonly path: PathTemplate;
  readonly value: Value;
}

interface Found<Value> {
  readonly kind: "found";
  readonly value: Value;
  readonly params: readonly string[];
}

const NOT_FOUND = { kind: "not-found" } as const;
const NO_PARAMS: readonly string[] = [];

/** The first path segment (`/items/5` → `items`), the key parameterized routes are bucketed by. */
function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

/** A template's first segment when it is plain text, so that only requests starting with it need trying. */
function literalFirstSegment(path: PathTemplate): string | undefined {
  const segment = firstSegment(path.template);
  return segment.includes("{") ? undefined : segment;
}

/**
 * Parameterized routes grouped by their literal first segment. A lookup tries only the group of the request's first
 * segment and the routes whose first segment is itself a parameter, merged back into registration order.
 */
class Buckets<Value> {
  readonly #byFirst = new Map<string, Entry<Value>[]>();
  readonly #anyFirst: Entry<Value>[] = [];

  constructor(entries: readonly Entry<Value>[]) {
    for (const entry of entries) {
      const first = literalFirstSegment(entry.path);
      if (first === undefined) this.#anyFirst.push(entry);
      else {
        const group = this.#byFirst.get(first);
        if (group === undefined) this.#byFirst.set(first, [entry]);
        else group.push(entry);
      }
    }
  }

  /** Calls `visit` on each candidate in registration order until it returns something. */
  find<Result>(path: string, visit: (entry: Entry<Value>) => Result | undefined): Result | undefined {
    const group = this.#byFirst.get(firstSegment(path));
    const other = this.#anyFirst;
    if (group === undefined) {
      for (const entry of other) {
        const result = visit(entry);
        if (result !== undefined) return result;
      }
      return undefined;
    }
    let a = 0;
    let b = 0;
    while (a < group.length || b < other.length) {
      const entry =
        b >= other.length || (a < group.length && group[a]!.order < other[b]!.order)
          ? group[a++]!
          : other[b++]!;
      const result = visit(entry);
      if (result !== undefined) return result;
    }
    return undefined;
  }
}

interface MethodTable<Value> {
  readonly statics: Map<string, Found<Value>>;
  readonly dynamic: Buckets<Value>;
}

/**
 * Finds the route for a method and a decoded path. The first route in registration order that matches both wins,
 * as in FastAPI, so `/users/me` must be added before `/users/{id}` to be reachable.
 *
 * Speed comes from precomputing, not from changing that rule: the answer for every static route path is computed
 * once per method, and other paths try only the parameterized routes that share their first segment (or start with
 * a parameter), in order. Radix-tree routers answer faster on huge tables but prefer static segments whatever the
 * order, which would change which handler runs (docs/decisions.md).
 */
export class Matcher<Value> {
  readonly #entries: Entry<Value>[] = [];
  #tables: Map<string, MethodTable<Value>> | undefined;
  #all: Buckets<Value> | undefined;
  #staticEntries: Map<string, Entry<Value>[]> | undefined;

  /** Adds a route; `methods` are upper-case. */
  add(methods: readonly string[], path: PathTemplate, value: Value): void {
    this.#entries.push({ order: this.#entries.length, methods, path, value });
    this.#tables = undefined;
  }

  match(method: string, path: string): Match<Value> {
    const table = (this.#tables ??= this.#build()).get(method);
    if (table !== undefined) {
      const found = table.statics.get(path) ?? table.dynamic.find(path, (entry) => foundIn(entry, path));
      if (found !== undefined) return found;
    }
    const allow = this.allowedMethods(path);
    return allow.length === 0 ? NOT_FOUND : { kind: "method-not-allowed", allow };
  }

  /** Every method some route answers for this path, in registration order. */
  allowedMethods(path: string): string[] {
    this.#tables ??= this.#build();
    const matching = [...(this.#staticEntries?.get(path) ?? [])];
    this.#all?.find(path, (entry) => {
      if (matchPath(entry.path, path) !== undefined) matching.push(entry);
      return undefined;
    });
    matching.sort((a, b) => a.order - b.order);
    return [...new Set(matching.flatMap((entry) => entry.methods))];
  }

  #build(): Map<string, MethodTable<Value>> {
    const tables = new Map<string, MethodTable<Value>>();
    const staticEntries = new Map<string, Entry<Value>[]>();
    for (const entry of this.#entries) {
      if (entry.path.regex !== undefined) continue;
      staticEntries.set(entry.path.template, [...(staticEntries.get(entry.path.template) ?? []), entry]);
    }
    for (const method of new Set(this.#entries.flatMap((entry) => entry.methods))) {
      const candidates = this.#entries.filter((entry) => entry.methods.includes(method));
      const statics = new Map<string, Found<Value>>();
      for (const { path } of candidates) {
        if (path.regex !== undefined || statics.has(path.template)) continue;
        // The first candidate matching this literal path, which may be an earlier parameterized route.
        for (const entry of candidates) {
          const found = foundIn(entry, path.template);
          if (found !== undefined) {
            statics.set(path.template, found);
            break;
          }
        }
      }
      const dynamic = new Buckets(candidates.filter((entry) => entry.path.regex !== undefined));
      tables.set(method, { statics, dynamic });
    }
    this.#all = new Buckets(this.#entries.filter((entry) => entry.path.regex !== undefined));
    this.#staticEntries = staticEntries;
    return tables;
  }
}

function foundIn<Value>(entry: Entry<Value>, path: string): Found<Value> | undefined {
  const params = matchPath(entry.path, path);
  return params === undefined ? undefined : { kind: "found", value: entry.value, params };
}

function matchPath(path: PathTemplate, requestPath: string): readonly string[] | undefined {
  if (path.regex === undefined) return path.template === requestPath ? NO_PARAMS : undefined;
  const match = path.regex.exec(requestPath);
  return match === null ? undefined : match.slice(1);
}
