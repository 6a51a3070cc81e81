// The soak test: `npm run soak` (60 s) or `npm run soak -- --seconds 15`. It serves examples/items with
// `brisk serve` in a child process, drives 64 keep-alive connections with a mix of valid and invalid requests, each
// of a known status, and samples the server's resident memory every second. It passes when no response has an
// unexpected status, no request fails at the socket, and the memory at the end is within 10 % of that at second 10.
// `brisk serve` runs the compiled code: dist/ is rebuilt first when missing or older than src/ (or with --build).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { freePort, residentBytes } from "./lib/process.ts";
import { ROOT } from "./lib/servers.ts";

const CONNECTIONS = 64;
const GROWTH_LIMIT = 10;
const RSS_BASE_SECOND = 10;
const REQUEST_TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    build: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`soak: --seconds must be a positive number, got "${values.seconds}"`);
  process.exit(2);
}

interface Kind {
  readonly name: string;
  /** Relative frequency. */
  readonly weight: number;
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly contentType?: string;
  readonly body?: Buffer;
  readonly expected: number;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const KINDS: readonly Kind[] = [
  { name: "list", weight: 22, method: "GET", path: "/items?limit=10", expected: 200 },
  { name: "get", weight: 20, method: "GET", path: "/items/1", expected: 200 },
  { name: "get missing", weight: 10, method: "GET", path: "/items/999999", expected: 404 },
  { name: "get bad id", weight: 6, method: "GET", path: "/items/abc", expected: 422 },
  { name: "list bad limit", weight: 8, method: "GET", path: "/items?limit=abc", expected: 422 },
  {
    name: "create",
    weight: 1,
    method: "POST",
    path: "/items",
    contentType: "application/json",
    body: json({ name: "soak", price: 1.5, tags: ["a", "b"] }),
    expected: 201,
  },
  {
    name: "create invalid",
    weight: 10,
    method: "POST",
    path: "/items",
    contentType: "application/json",
    body: json({ name: "", price: -1, tags: "x" }),
    expected: 422,
  },
  {
    name: "malformed JSON",
    weight: 8,
    method: "POST",
    path: "/items",
    contentType: "application/json",
    body: Buffer.from('{"name": "x", "price": '),
    expected: 422,
  },
  {
    name: "text/plain",
    weight: 7,
    method: "POST",
    path: "/items",
    contentType: "text/plain",
    body: Buffer.from("name=x"),
    expected: 415,
  },
  {
    name: "2 MB body",
    weight: 0.5,
    method: "POST",
    path: "/items",
    contentType: "application/json",
    body: Buffer.alloc(2 * 1024 * 1024, 0x20),
    expected: 413,
  },
  { name: "unknown path", weight: 7.5, method: "GET", path: "/nowhere/at/all", expected: 404 },
];
const TOTAL_WEIGHT = KINDS.reduce((sum, kind) => sum + kind.weight, 0);

function pickKind(): Kind {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const kind of KINDS) {
    roll -= kind.weight;
    if (roll < 0) return kind;
  }
  return KINDS[0]!;
}

// -- the server --------------------------------------------------------------------------------------------------

/** Whether dist/ is missing or older than a file of src/ (`brisk serve` runs dist/, the soak is of src/). */
function distIsStale(): boolean {
  const built = join(ROOT, "dist/cli/main.js");
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).some(
    (file) => statSync(join(ROOT, "src", file)).mtimeMs > builtAt,
  );
}

if (values.build || distIsStale()) {
  console.log("soak: building dist/ (npm run build)");
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

let child: ChildProcess | undefined;
const stopChild = () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
};
process.on("exit", stopChild);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.error(`\nsoak: ${signal}, stopping the server`);
    stopChild();
    process.exit(130);
  });
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
child = spawn(
  process.execPath,
  ["bin/brisk.mjs", "serve", "examples/items/app.ts:app", "--port", String(port), "--no-access-log"],
  { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } },
);
const pid = child.pid;
if (pid === undefined) throw new Error("soak: could not start brisk serve");
let serverOutput = "";
const keep = (chunk: Buffer) => {
  serverOutput = (serverOutput + chunk.toString("utf8")).slice(-8000);
};
child.stdout?.on("data", keep);
child.stderr?.on("data", keep);
let exitedEarly = false;
let stopping = false;
let died = false;
child.once("exit", (code, signal) => {
  exitedEarly = true;
  died = !stopping;
  if (died) console.error(`soak: the server exited (${signal ?? `code ${code}`}):\n${serverOutput}`);
});

/** Waits for the first 200 on GET /items, polling. */
async function waitUntilReady(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error("the server exited before it was ready");
    try {
      const response = await fetch(`${base}/items`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`the server was not ready after 20 s:\n${serverOutput}`);
}

try {
  await waitUntilReady();
} catch (error) {
  console.error(`soak: ${(error as Error).message}`);
  stopChild();
  process.exit(1);
}
// Item 1 exists for GET /items/1 all along.
{
  const response = await fetch(`${base}/items`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "first", price: 2 }),
  });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`soak: creating item 1 gave ${response.status}`);
}

// -- the load ----------------------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

interface Tally {
  requests: number;
  unexpected: number;
  errors: number;
}
const tallies = new Map<string, Tally>(
  KINDS.map((kind) => [kind.name, { requests: 0, unexpected: 0, errors: 0 }]),
);
const samples: string[] = [];
const note = (line: string) => {
  if (samples.length < 12) samples.push(line);
};

/** One request; resolves when its response has been read in full, or it failed. */
function send(kind: Kind): Promise<void> {
  const tally = tallies.get(kind.name)!;
  tally.requests++;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (failure?: string) => {
      if (settled) return;
      settled = true;
      if (failure !== undefined) {
        tally.errors++;
        note(`${kind.name}: ${failure}`);
      }
      resolve();
    };
    const headers: Record<string, string | number> = {};
    if (kind.contentType !== undefined) headers["content-type"] = kind.contentType;
    if (kind.body !== undefined) headers["content-length"] = kind.body.byteLength;
    let status: number | undefined;
    const req = request(`${base}${kind.path}`, { method: kind.method, agent, headers }, (res) => {
      status = res.statusCode;
      if (res.statusCode !== kind.expected) {
        tally.unexpected++;
        note(`${kind.name}: status ${res.statusCode}, expected ${kind.expected}`);
      }
      res.on("error", (error) => settle(`response: ${error.message}`));
      res.on("aborted", () => settle("response aborted"));
      res.on("end", () => settle());
      res.resume();
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error("timed out")));
    req.on("error", (error: NodeJS.ErrnoException) => {
      const when = status === undefined ? "before any response" : `after the status ${status}`;
      settle(`${error.code ?? ""} ${error.message} (${when})`);
    });
    req.end(kind.body);
  });
}

const rss: number[] = [];
const started = performance.now();
const deadline = started + seconds * 1000;
const sampler = setInterval(() => {
  rss.push(residentBytes(pid));
  const second = rss.length;
  if (second % 10 === 0) {
    const done = [...tallies.values()].reduce((sum, tally) => sum + tally.requests, 0);
    console.log(`soak: ${second} s, ${done} requests, RSS ${(rss.at(-1)! / 2 ** 20).toFixed(1)} MiB`);
  }
}, 1000);

console.log(
  `soak: ${CONNECTIONS} connections for ${seconds} s against brisk serve examples/items/app.ts:app (pid ${pid})`,
);
await Promise.all(
  Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < deadline && !exitedEarly) await send(pickKind());
  }),
);
const elapsed = (performance.now() - started) / 1000;
clearInterval(sampler);
const endRss = residentBytes(pid);
agent.destroy();
stopping = true;
stopChild();

// -- the report --------------------------------------------------------------------------------------------------

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
let total = 0;
let unexpected = 0;
let errors = 0;
console.log("\nkind              requests  unexpected  socket errors");
for (const kind of KINDS) {
  const tally = tallies.get(kind.name)!;
  total += tally.requests;
  unexpected += tally.unexpected;
  errors += tally.errors;
  console.log(
    `${`${kind.name} (${kind.expected})`.padEnd(22)}${String(tally.requests).padStart(9)}${String(tally.unexpected).padStart(12)}${String(tally.errors).padStart(15)}`,
  );
}
if (samples.length > 0) console.log(`\nfirst problems:\n  ${samples.join("\n  ")}`);

const baseIndex = Math.min(RSS_BASE_SECOND, rss.length) - 1;
const baseRss = rss[baseIndex] ?? Number.NaN;
const growth = ((endRss - baseRss) / baseRss) * 100;
const failures: string[] = [];
if (unexpected > 0) failures.push(`${unexpected} unexpected statuses`);
if (errors > 0) failures.push(`${errors} socket errors`);
if (!(growth < GROWTH_LIMIT)) failures.push(`RSS grew ${growth.toFixed(1)} % (limit ${GROWTH_LIMIT} %)`);
if (died) failures.push("the server exited during the run");

console.log(`
total requests      ${total}
requests/s          ${(total / elapsed).toFixed(0)} (${elapsed.toFixed(1)} s)
unexpected statuses ${unexpected}
socket errors       ${errors}
RSS at second ${String(baseIndex + 1).padEnd(6)}${mib(baseRss)}
RSS at the end      ${mib(endRss)}
RSS growth          ${growth.toFixed(1)} % (target < ${GROWTH_LIMIT} %)
RSS peak            ${mib(Math.max(...rss))} (between garbage collections)
RSS per second (MiB) ${rss.map((bytes) => (bytes / 2 ** 20).toFixed(0)).join(" ")}
${failures.length === 0 ? "soak: passed" : `soak: FAILED: ${failures.join("; ")}`}`);
process.exit(failures.length === 0 ? 0 : 1);
