import { realpathSync, statSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename, join, resolve, sep } from "node:path";
import { BriskError } from "./errors.ts";
import type { Incoming, Outgoing } from "./exchange.ts";
import { openFile, sendOpenFile } from "./files.ts";
import { detailResponse } from "./handle.ts";
import type { HeadersInit } from "./internal/web-types.ts";

/** Options of {@link staticFiles}. */
export interface StaticFilesOptions {
  /**
   * Serve a site: a directory answers with its `index.html` (a path without the trailing slash is redirected to
   * the one with it), and a missing file with `404.html` when there is one.
   * @default false
   */
  readonly html?: boolean;
  /** Headers added to every file sent (`Cache-Control`, say). */
  readonly headers?: HeadersInit;
}

const NOT_FOUND: Outgoing = detailResponse(404, "Not Found");
const METHOD_NOT_ALLOWED: Outgoing = detailResponse(405, "Method Not Allowed", { allow: "GET, HEAD" });

/**
 * The decoded segments of a request path below the mount, or undefined when one could name something outside
 * the directory: `.` and `..`, and segments that decode to a slash, a backslash or NUL (`%2F`, `%5C`, `%00`).
 * Decoding happens once, so a double-encoded `%252e%252e` is the literal name `%2e%2e`, not a parent.
 */
function segmentsOf(path: string): string[] | undefined {
  const raw = path.split("/").slice(1);
  const segments: string[] = [];
  for (const [index, each] of raw.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(each);
    } catch {
      return undefined;
    }
    if (segment === "") {
      // Only a trailing slash may leave an empty segment.
      if (index === raw.length - 1) continue;
      return undefined;
    }
    if (segment === "." || segment === ".." || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

/** A directory served under a mount prefix: `app.mount("/static", staticFiles("./public"))`. */
export class StaticFiles {
  readonly directory: string;
  readonly #html: boolean;
  readonly #headers: HeadersInit | undefined;

  constructor(directory: string, options: StaticFilesOptions = {}) {
    let real: string;
    try {
      real = realpathSync(resolve(directory));
    } catch {
      throw new BriskError("BRISK_INVALID_OPTION", `staticFiles: the directory ${directory} does not exist`);
    }
    if (!statSync(real).isDirectory()) {
      throw new BriskError("BRISK_INVALID_OPTION", `staticFiles: ${directory} is not a directory`);
    }
    this.directory = real;
    this.#html = options.html ?? false;
    this.#headers = options.headers;
  }

  /**
   * The real path of `segments` under the directory, or undefined when there is none or it lies outside: a
   * symbolic link may point elsewhere inside the directory, never out of it.
   */
  async #resolve(segments: readonly string[]): Promise<string | undefined> {
    let real: string;
    try {
      real = await realpath(join(this.directory, ...segments));
    } catch {
      return undefined;
    }
    return real === this.directory || real.startsWith(this.directory + sep) ? real : undefined;
  }

  async #send(real: string, incoming: Incoming, status = 200): Promise<Outgoing | undefined> {
    const opened = await openFile(real);
    if (opened === undefined) return undefined;
    const options = this.#headers === undefined ? {} : { headers: this.#headers };
    return sendOpenFile(opened, options, incoming, { status, name: basename(real) });
  }

  async #notFound(incoming: Incoming): Promise<Outgoing> {
    if (!this.#html) return NOT_FOUND;
    const page = await this.#resolve(["404.html"]);
    return (page === undefined ? undefined : await this.#send(page, incoming, 404)) ?? NOT_FOUND;
  }

  /** Answers a request whose path is relative to the mount prefix. */
  async handle(incoming: Incoming): Promise<Outgoing> {
    if (incoming.method !== "GET" && incoming.method !== "HEAD") return METHOD_NOT_ALLOWED;
    const segments = segmentsOf(incoming.path);
    if (segments === undefined) return NOT_FOUND;
    const real = await this.#resolve(segments);
    if (real === undefined) return this.#notFound(incoming);
    const stats = await stat(real).catch(() => undefined);
    if (stats?.isDirectory()) {
      if (!this.#html) return this.#notFound(incoming);
      if (!incoming.path.endsWith("/")) {
        // Relative links in the index page resolve against the directory only with the trailing slash.
        const query = incoming.search === "" ? "" : `?${incoming.search}`;
        return {
          status: 307,
          headers: [["location", `${incoming.rootPath ?? ""}${incoming.path}/${query}`]],
          body: null,
        };
      }
      const index = await this.#resolve([...segments, "index.html"]);
      return (
        (index === undefined ? undefined : await this.#send(index, incoming)) ?? this.#notFound(incoming)
      );
    }
    return (await this.#send(real, incoming)) ?? this.#notFound(incoming);
  }
}

/**
 * Serves the files of a directory (Starlette's `StaticFiles`), to be mounted under a prefix. Requests can reach
 * nothing outside the directory: dot segments, encoded slashes and backslashes, and symbolic links leading out
 * are all 404. Files are sent with validators, conditional requests and byte ranges, as {@link file} sends them.
 *
 * @example
 * app.mount("/static", staticFiles("./public", { html: true }));
 */
export function staticFiles(directory: string, options: StaticFilesOptions = {}): StaticFiles {
  return new StaticFiles(directory, options);
}
