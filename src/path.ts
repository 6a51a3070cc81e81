import { BriskError } from "./errors.ts";

/** How a path parameter's text is matched and turned into a value (Starlette's convertors). */
interface Convertor {
  readonly pattern: string;
  readonly convert: (text: string) => string | number;
}

const CONVERTORS: Readonly<Record<string, Convertor>> = {
  str: { pattern: "[^/]+", convert: (text) => text },
  path: { pattern: ".*", convert: (text) => text },
  int: { pattern: "[0-9]+", convert: Number },
  float: { pattern: "[0-9]+(?:\\.[0-9]+)?", convert: Number },
  uuid: {
    pattern: "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
    convert: (text) => text,
  },
};

/** One `{name}` or `{name:convertor}` of a template. */
export interface PathParam {
  readonly name: string;
  readonly convertor: string;
  readonly convert: (text: string) => string | number;
}

/** A path template, parsed once at registration. */
export interface PathTemplate {
  /** The template as written, with `:name` rewritten to `{name}`. */
  readonly template: string;
  /** The template with convertor suffixes stripped, as OpenAPI writes it: `/files/{file_path}`. */
  readonly openapiPath: string;
  readonly params: readonly PathParam[];
  /** Anchored pattern with one capture group per param; undefined for a static path. */
  readonly regex: RegExp | undefined;
}

const BRACED = /\{([^{}]*)\}/g;
const COLON = /(^|\/):([A-Za-z_][A-Za-z0-9_]*)(?=\/|$)/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `/items/{id}`, `/files/{rest:path}` or `/items/:id` into a matcher-ready template. */
export function compilePath(path: string): PathTemplate {
  if (!path.startsWith("/")) {
    throw new BriskError("BRISK_INVALID_PATH", `Route path "${path}" must start with "/"`);
  }
  if (path.includes("{") && COLON.test(path)) {
    throw new BriskError(
      "BRISK_INVALID_PATH",
      `Route path "${path}" mixes {name} and :name parameters; use one style`,
    );
  }
  COLON.lastIndex = 0;
  const template = path.replace(COLON, (_, slash: string, name: string) => `${slash}{${name}}`);
  if (/[{}]/.test(template.replace(BRACED, ""))) {
    throw new BriskError("BRISK_INVALID_PATH", `Route path "${path}" has an unbalanced brace`);
  }
  const params: PathParam[] = [];
  let source = "";
  let last = 0;
  for (const match of template.matchAll(BRACED)) {
    const [whole, inner = ""] = match;
    const [name = "", convertorName = "str", extra] = inner.split(":");
    const convertor = CONVERTORS[convertorName];
    if (!NAME.test(name) || extra !== undefined) {
      throw new BriskError("BRISK_INVALID_PATH", `Route path "${path}" has an invalid parameter "${whole}"`);
    }
    if (convertor === undefined) {
      throw new BriskError(
        "BRISK_INVALID_PATH",
        `Route path "${path}" uses an unknown convertor "${convertorName}"; known: ${Object.keys(CONVERTORS).join(", ")}`,
      );
    }
    if (params.some((param) => param.name === name)) {
      throw new BriskError("BRISK_INVALID_PATH", `Route path "${path}" names the parameter "${name}" twice`);
    }
    params.push({ name, convertor: convertorName, convert: convertor.convert });
    source += `${escapeRegex(template.slice(last, match.index))}(${convertor.pattern})`;
    last = match.index + whole.length;
  }
  source += escapeRegex(template.slice(last));
  return {
    template,
    openapiPath: template.replace(BRACED, (_, inner: string) => `{${inner.split(":")[0]}}`),
    params,
    regex: params.length === 0 ? undefined : new RegExp(`^${source}$`),
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Joins a prefix and a path: `("/api", "/items")` → `"/api/items"`. */
export function joinPaths(prefix: string, path: string): string {
  if (prefix === "" || prefix === "/") return path;
  return `${prefix.replace(/\/+$/, "")}${path}`;
}

type ParamName<Inner extends string> = Inner extends `${infer Name}:${string}` ? Name : Inner;
type ParamValue<Inner extends string> = Inner extends `${string}:${"int" | "float"}` ? number : string;

type ColonParams<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & ColonParams<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : unknown;

type BracedParams<Path extends string> = Path extends `${string}{${infer Inner}}${infer Rest}`
  ? { [K in ParamName<Inner>]: ParamValue<Inner> } & BracedParams<Rest>
  : unknown;

type Flatten<T> = unknown extends T ? Record<never, never> : { [K in keyof T]: T[K] };

/**
 * The path parameters a template declares, typed: `"/items/{id:int}/{name}"` → `{ id: number; name: string }`.
 * One level of recursion per parameter keeps type-checking cost linear.
 */
export type PathParams<Path extends string> = Flatten<
  Path extends `${string}{${string}` ? BracedParams<Path> : ColonParams<Path>
>;
