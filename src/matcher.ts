import type { PathTemplate } from "./path.ts";

/** What a request's method and path found. */
export type Match<Value> =
  | { readonly kind: "found"; readonly value: Value; readonly params: readonly string[] }
  | { readonly kind: "method-not-allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not-found" };

interface Entry<Value> {
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

/**
 * Finds the route for a method and a raw (still percent-encoded) path. The first route in registration order that
 * matches both wins, as in FastAPI, so `/users/me` must be added before `/users/{id}` to be reachable.
 *
 * Speed comes from precomputing, not from changing that rule: the answer for every static route path is computed
 * once per method, and only the remaining paths scan the parameterized patterns, in order.
 */
export class Matcher<Value> {
  readonly #entries: Entry<Value>[] = [];
  #byMethod: Map<string, { statics: Map<string, Found<Value>>; dynamic: Entry<Value>[] }> | undefined;

  /** Adds a route; `methods` are upper-case. */
  add(methods: readonly string[], path: PathTemplate, value: Value): void {
    this.#entries.push({ methods, path, value });
    this.#byMethod = undefined;
  }

  match(method: string, path: string): Match<Value> {
    const table = (this.#byMethod ??= this.#build()).get(method);
    if (table !== undefined) {
      const found = table.statics.get(path);
      if (found !== undefined) return found;
      for (const entry of table.dynamic) {
        const params = matchPath(entry.path, path);
        if (params !== undefined) return { kind: "found", value: entry.value, params };
      }
    }
    const allow = this.allowedMethods(path);
    return allow.length === 0 ? NOT_FOUND : { kind: "method-not-allowed", allow };
  }

  /** Every method some route answers for this path, in registration order. */
  allowedMethods(path: string): string[] {
    const allow = new Set<string>();
    for (const entry of this.#entries) {
      if (matchPath(entry.path, path) !== undefined) for (const method of entry.methods) allow.add(method);
    }
    return [...allow];
  }

  #build(): Map<string, { statics: Map<string, Found<Value>>; dynamic: Entry<Value>[] }> {
    const tables = new Map<string, { statics: Map<string, Found<Value>>; dynamic: Entry<Value>[] }>();
    const methods = new Set(this.#entries.flatMap((entry) => entry.methods));
    for (const method of methods) {
      const candidates = this.#entries.filter((entry) => entry.methods.includes(method));
      const statics = new Map<string, Found<Value>>();
      for (const { path } of candidates) {
        if (path.regex !== undefined || statics.has(path.template)) continue;
        // The first candidate matching this literal path, which may be an earlier parameterized route.
        for (const entry of candidates) {
          const params = matchPath(entry.path, path.template);
          if (params !== undefined) {
            statics.set(path.template, { kind: "found", value: entry.value, params });
            break;
          }
        }
      }
      tables.set(method, { statics, dynamic: candidates.filter((entry) => entry.path.regex !== undefined) });
    }
    return tables;
  }
}

function matchPath(path: PathTemplate, requestPath: string): readonly string[] | undefined {
  if (path.regex === undefined) return path.template === requestPath ? NO_PARAMS : undefined;
  const match = path.regex.exec(requestPath);
  return match === null ? undefined : match.slice(1);
}
