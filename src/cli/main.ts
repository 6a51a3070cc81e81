import { parseArgs } from "node:util";
import { EntrypointError } from "./entrypoint.ts";
import { serveWithReload } from "./reload.ts";
import { serve } from "./serve.ts";

const USAGE = `Usage: brisk serve <module>:<export> [options]

Serves a brisk App over HTTP, like uvicorn serves an ASGI app.

  <module>:<export>   a file relative to the current directory (the extension may be left out:
                      .ts, .mts, .js and .mjs are tried) and the App's export name; a missing
                      export falls back to the default export. Example: examples/items/app.ts:app

Options:
  --host <address>    address to bind (default 127.0.0.1)
  --port <number>     port to bind, 0 for any free port (default 8000)
  --reload            restart when a source file changes (development)
  -h, --help          show this help`;

function fail(message: string): never {
  console.error(`brisk: ${message}`);
  process.exit(1);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) fail(`--port must be a number from 0 to 65535, got "${text}"`);
  return port;
}

/** Runs the command line `brisk <command> ...`. */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return;
  }
  if (command !== "serve") fail(`unknown command "${command}"; try "brisk --help"`);
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(rest);
  } catch (error) {
    // Node's parseArgs explains some mistakes over several lines; the first one says what is wrong.
    fail((error instanceof Error ? error.message : String(error)).split("\n")[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const [entrypoint, ...extra] = positionals;
  if (entrypoint === undefined) fail('missing the app to serve, e.g. "brisk serve app.ts:app"');
  if (extra.length > 0) fail(`unexpected argument "${extra[0]}"`);
  const host = values.host ?? "127.0.0.1";
  const port = parsePort(values.port ?? "8000");
  if (values.reload) {
    serveWithReload([entrypoint, "--host", host, "--port", String(port)], process.cwd());
    return;
  }
  try {
    await serve({ entrypoint, host, port });
  } catch (error) {
    if (error instanceof EntrypointError) fail(error.message);
    if (isAddressInUse(error)) fail(`${host}:${port} is already in use`);
    // The app's own code failed while loading or starting: its stack is what the developer needs.
    console.error(`brisk: could not start "${entrypoint}":`);
    console.error(error);
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
      help: { type: "boolean", short: "h" },
    },
  });
}

function isAddressInUse(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: string }).code === "EADDRINUSE";
}
