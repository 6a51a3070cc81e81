import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { isBriskError } from "../errors.ts";
import { packageRoot } from "../internal/package-root.ts";
import { configureLogging, isLogLevel } from "../logger.ts";
import { EntrypointError, loadEntrypoint } from "./entrypoint.ts";
import { serveWithReload } from "./reload.ts";
import { say } from "./say.ts";
import { serve } from "./serve.ts";
import { isWorker, superviseWorkers } from "./workers.ts";

/** `brisk --version`: the command's version, the package it comes from, and the runtime. */
function versionLine(): string {
  const { name, version } = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  return `brisk ${version} (${name}) on Node ${process.version}`;
}

/** Where the design decisions are, as a path from the current directory: docs/ is part of the package. */
function decisionsPath(): string {
  return relative(process.cwd(), join(packageRoot(), "docs", "decisions.md"));
}

const usage = () => `Usage: brisk serve <module>:<export> [options]
       brisk openapi <module>:<export> [-o <file>]
       brisk --version

serve     serves a brisk App over HTTP, like uvicorn serves an ASGI app
openapi   prints the App's OpenAPI document (or writes it to <file>)

  <module>:<export>   a file relative to the current directory (the extension may be left out:
                      .ts, .mts, .js and .mjs are tried) and the App's export name; a missing
                      export falls back to the default export. Example: examples/items/app.ts:app

Options of serve:
  --host <address>    address to bind (default 127.0.0.1)
  --port <number>     port to bind, 0 for any free port (default 8000)
  --root-path <path>  the prefix a proxy serves the app under, e.g. /content/abc; requests are
                      routed with or without it, and the docs and OpenAPI servers use it
  --proxy-headers     trust X-Forwarded-Proto, -Host, -For and -Prefix from the peers in
                      --forwarded-allow-ips (the default; --no-proxy-headers turns it off)
  --forwarded-allow-ips <list>
                      comma-separated addresses and CIDR networks trusted with proxy headers,
                      or * for all (default $FORWARDED_ALLOW_IPS or 127.0.0.1)
  --workers <n>       run n processes on the port (node:cluster); a worker that dies is
                      started again, SIGTERM drains them all (default 1)
  --health-path <path>
                      answer GET <path> with 200, and 503 while shutting down (default: off)
  --log-level <level> debug, info, warning, error or critical (default info)
  --log-format <fmt>  text, or json for one JSON object per line (default text)
  --access-log        a line per request: client, request, status, bytes, duration (the
                      default; --no-access-log turns it off)
  --no-fast-lane      read every request with Node's http parser, not only those outside the
                      fast lane's plain HTTP/1.1 subset (see ${decisionsPath()})
  --reload            restart when a source file changes (development)
  -h, --help          show this help

Documentation: ${join(relative(process.cwd(), packageRoot()) || ".", "README.md")}`;

function fail(message: string): never {
  say("error", message);
  process.exit(1);
}

/** Parses a command's arguments, or exits with Node's explanation of the mistake. */
function parseOrFail<Parsed>(parse: () => Parsed): Parsed {
  try {
    return parse();
  } catch (error) {
    // Node's parseArgs explains some mistakes over several lines; the first one says what is wrong.
    fail((error instanceof Error ? error.message : String(error)).split("\n")[0]!);
  }
}

/** The one `module:export` a command takes. */
function onlyEntrypoint(positionals: readonly string[], command: string): string {
  const [entrypoint, ...extra] = positionals;
  if (entrypoint === undefined) fail(`missing the app, e.g. "brisk ${command} app.ts:app"`);
  if (extra.length > 0) fail(`unexpected argument "${extra[0]}"`);
  return entrypoint;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) fail(`--port must be a number from 0 to 65535, got "${text}"`);
  return port;
}

function parseWorkers(text: string): number {
  const workers = Number(text);
  if (!/^\d+$/.test(text) || workers < 1 || workers > 256)
    fail(`--workers must be a number from 1 to 256, got "${text}"`);
  return workers;
}

/** Runs the command line `brisk <command> ...`. */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(usage());
    return;
  }
  if (command === "--version" || command === "-v" || command === "version") {
    console.log(versionLine());
    return;
  }
  if (command === "openapi") return printOpenApi(rest);
  if (command !== "serve") fail(`unknown command "${command}"; try "brisk --help"`);
  const { values, positionals } = parseOrFail(() => parseServeArgs(rest));
  if (values.help) {
    console.log(usage());
    return;
  }
  // The log's format first: every line after this one, the command's own included, is in it.
  const logFormat = values["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json")
    fail(`--log-format must be text or json, got "${logFormat}"`);
  configureLogging({ format: logFormat });
  if (logFormat === "json") {
    // Node's own warnings (a deprecation, an experimental feature) would be the one plain line in the log.
    process.removeAllListeners("warning");
    process.on("warning", (warning) => say("warning", `${warning.name}: ${warning.message}`));
  }
  const logLevel = values["log-level"] ?? "info";
  if (!isLogLevel(logLevel))
    fail(`--log-level must be debug, info, warning, error or critical, got "${logLevel}"`);
  configureLogging({ level: logLevel });
  const entrypoint = onlyEntrypoint(positionals, "serve");
  const host = values.host ?? "127.0.0.1";
  const port = parsePort(values.port ?? "8000");
  if (values["proxy-headers"] && values["no-proxy-headers"]) {
    fail("--proxy-headers and --no-proxy-headers contradict each other");
  }
  const rootPath = values["root-path"];
  if (rootPath !== undefined && rootPath !== "" && !rootPath.startsWith("/")) {
    fail(`--root-path must start with "/", got "${rootPath}"`);
  }
  const proxyHeaders = !values["no-proxy-headers"];
  const forwardedAllowIps = values["forwarded-allow-ips"];
  const workers = parseWorkers(values.workers ?? "1");
  const healthPath = values["health-path"];
  if (healthPath !== undefined && !/^\/[^?#\s]*$/.test(healthPath)) {
    fail(`--health-path must be a path starting with "/", got "${healthPath}"`);
  }
  if (values["access-log"] && values["no-access-log"]) {
    fail("--access-log and --no-access-log contradict each other");
  }
  const accessLog = !values["no-access-log"];
  const fastLane = !values["no-fast-lane"];
  if (values.reload && workers > 1) fail("--reload and --workers cannot be combined");
  if (values.reload) {
    const args = [entrypoint, "--host", host, "--port", String(port)];
    if (rootPath !== undefined) args.push("--root-path", rootPath);
    if (!proxyHeaders) args.push("--no-proxy-headers");
    if (forwardedAllowIps !== undefined) args.push("--forwarded-allow-ips", forwardedAllowIps);
    if (healthPath !== undefined) args.push("--health-path", healthPath);
    args.push("--log-level", logLevel, "--log-format", logFormat);
    if (!accessLog) args.push("--no-access-log");
    if (!fastLane) args.push("--no-fast-lane");
    serveWithReload(args, process.cwd());
    return;
  }
  if (workers > 1 && !isWorker()) {
    const code = await superviseWorkers(workers, (url) =>
      say("info", `serving ${entrypoint} at ${url} with ${workers} workers`, {
        stdout: true,
        fields: { url },
      }),
    );
    if (code === 0) say("info", "stopped");
    process.exit(code);
  }
  try {
    await serve({
      entrypoint,
      host,
      port,
      proxyHeaders,
      accessLog,
      fastLane,
      worker: isWorker(),
      ...(healthPath === undefined ? {} : { healthPath }),
      ...(rootPath === undefined ? {} : { rootPath }),
      ...(forwardedAllowIps === undefined ? {} : { forwardedAllowIps }),
    });
  } catch (error) {
    if (error instanceof EntrypointError) fail(error.message);
    if (isBriskError(error) && error.code === "BRISK_INVALID_OPTION") fail(error.message);
    if (isAddressInUse(error)) fail(`${host}:${port} is already in use`);
    // The app's own code failed while loading or starting: its stack is what the developer needs.
    say("critical", `could not start "${entrypoint}":`, { error });
    process.exit(1);
  }
}

function parseServeArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      reload: { type: "boolean" },
      "root-path": { type: "string" },
      "proxy-headers": { type: "boolean" },
      "no-proxy-headers": { type: "boolean" },
      "forwarded-allow-ips": { type: "string" },
      workers: { type: "string" },
      "health-path": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      "access-log": { type: "boolean" },
      "no-access-log": { type: "boolean" },
      "no-fast-lane": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function isAddressInUse(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: string }).code === "EADDRINUSE";
}

/**
 * `brisk openapi <module>:<export> [-o file]`: the document as indented JSON with a final newline. The same app
 * always gives the same bytes, so the file can be committed and diffed.
 */
async function printOpenApi(args: string[]): Promise<void> {
  const { values, positionals } = parseOrFail(() => parseOpenApiArgs(args));
  if (values.help) {
    console.log(usage());
    return;
  }
  const entrypoint = onlyEntrypoint(positionals, "openapi");
  let text: string;
  try {
    const app = await loadEntrypoint(entrypoint);
    text = `${JSON.stringify(app.openapi(), null, 2)}\n`;
  } catch (error) {
    if (error instanceof EntrypointError || isBriskError(error)) fail((error as Error).message);
    say("critical", `could not load "${entrypoint}":`, { error });
    process.exit(1);
  }
  if (values.output === undefined) process.stdout.write(text);
  else writeFileSync(values.output, text);
}

function parseOpenApiArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      output: { type: "string", short: "o" },
      help: { type: "boolean", short: "h" },
    },
  });
}
