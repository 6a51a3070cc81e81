// The soak test: `npm run soak` (60 s) or `npm run soak -- --seconds 900`. It serves examples/items with `brisk serve`
// in a child process, drives 64 keep-alive connections with a mix of valid and invalid requests, each of a known
// status (every item it creates it deletes again, so the example's store stays the same size), and watches the
// server's memory. It passes when no response has an unexpected status, no request fails at the socket, and the
// heap used after a full garbage collection is within 10 % in the last third of the run of what it was after the
// warm-up. Resident memory cannot tell a leak from a heap that settles: V8 sizes its young generation to the
// allocation rate (from 1 to 32 MiB here), keeps old space above what is live, and gives pages back lazily, so RSS
// climbs and swings by 20 MiB or more with nothing leaking. So the server runs with `--inspect=127.0.0.1:0`, and every
// `heapEvery` seconds the soak asks it through the inspector for a full collection and then `process.memoryUsage()`.
// RSS is still reported (per second, its low points, and after each full collection), not judged; the collections
// shrink the young generation, so the soak's RSS is lower than an unwatched server's.
// `--heap-snapshots 60,300,880` also writes heap snapshots of the server at those seconds to bench/.scratch/, for
// bench/heap-summary.ts (each pauses the server, and leaves its RSS tens of MiB higher for the rest of the run).
// `brisk serve` runs the compiled code: dist/ is rebuilt first when missing or older than src/ (or with --build).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Inspector, inspectorUrl } from "./lib/inspector.ts";
import { freePort, residentBytes } from "./lib/process.ts";
import { ROOT } from "./lib/servers.ts";

const CONNECTIONS = 64;
/** Seconds of load before memory counts: code is compiled and optimized, and Zod's and V8's caches fill. */
const WARM_UP_SECONDS = 10;
/** How much the heap used (and external memory) after a full collection may grow, in %, from after the warm-up to
 * the last third of the run. */
const LIVE_GROWTH_LIMIT = 10;
const REQUEST_TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    build: { type: "boolean", default: false },
    "heap-snapshots": { type: "string", default: "" },
  },
});
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`soak: --seconds must be a positive number, got "${values.seconds}"`);
  process.exit(2);
}
const snapshotSeconds = new Set(
  values["heap-snapshots"]
    .split(",")
    .filter((text) => text.trim() !== "")
    .map(Number),
);
if ([...snapshotSeconds].some((second) => !Number.isInteger(second) || second <= 0)) {
  console.error(
    `soak: --heap-snapshots takes whole seconds, e.g. 60,300,880; got "${values["heap-snapshots"]}"`,
  );
  process.exit(2);
}
/** A full collection every `heapEvery` seconds: every thirtieth of the run, and at least 5 s apart. */
const heapEvery = Math.max(5, Math.round(seconds / 30));

interface Kind {
  readonly name: string;
  /** Relative frequency. */
  readonly weight: number;
  readonly method: "GET" | "POST" | "DELETE";
  readonly path: string;
  readonly contentType?: string;
  readonly body?: Buffer;
  readonly expected: number;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const CREATE: Kind = {
  name: "create",
  weight: 1,
  method: "POST",
  path: "/items",
  contentType: "application/json",
  body: json({ name: "soak", price: 1.5, tags: ["a", "b"] }),
  expected: 201,
};
/** Follows each create, on the same connection, for the item it created (not picked at random). */
const DELETE_CREATED: Kind = {
  name: "delete created",
  weight: 0,
  method: "DELETE",
  path: "/items/{item_id}",
  expected: 204,
};
const KINDS: readonly Kind[] = [
  { name: "list", weight: 22, method: "GET", path: "/items?limit=10", expected: 200 },
  { name: "get", weight: 20, method: "GET", path: "/items/1", expected: 200 },
  { name: "get missing", weight: 10, method: "GET", path: "/items/999999", expected: 404 },
  { name: "get bad id", weight: 6, method: "GET", path: "/items/abc", expected: 422 },
  { name: "list bad limit", weight: 8, method: "GET", path: "/items?limit=abc", expected: 422 },
  CREATE,
  DELETE_CREATED,
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
// The inspector listens on a port of the OS's choosing; the server prints its URL on stderr.
child = spawn(
  process.execPath,
  [
    "--inspect=127.0.0.1:0",
    "bin/brisk.mjs",
    "serve",
    "examples/items/app.ts:app",
    "--port",
    String(port),
    "--no-access-log",
  ],
  { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } },
);
const pid = child.pid;
if (pid === undefined) throw new Error("soak: could not start brisk serve");
let serverOutput = "";
let inspectorAt: string | undefined;
const keep = (chunk: Buffer) => {
  serverOutput = (serverOutput + chunk.toString("utf8")).slice(-8000);
  inspectorAt ??= inspectorUrl(serverOutput);
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

let inspector: Inspector;
try {
  await waitUntilReady();
  if (inspectorAt === undefined) throw new Error(`the server printed no inspector URL:\n${serverOutput}`);
  inspector = await Inspector.connect(inspectorAt);
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

/**
 * One request to `path` (the kind's own by default); resolves when its response has been read in full, or it
 * failed, with the body of a create's expected answer (the others' are read and dropped).
 */
function send(kind: Kind, path = kind.path): Promise<string | undefined> {
  const tally = tallies.get(kind.name)!;
  tally.requests++;
  return new Promise((resolve) => {
    let settled = false;
    let body: string | undefined;
    const settle = (failure?: string) => {
      if (settled) return;
      settled = true;
      if (failure !== undefined) {
        tally.errors++;
        note(`${kind.name}: ${failure}`);
      }
      resolve(failure === undefined ? body : undefined);
    };
    const headers: Record<string, string | number> = {};
    if (kind.contentType !== undefined) headers["content-type"] = kind.contentType;
    if (kind.body !== undefined) headers["content-length"] = kind.body.byteLength;
    let status: number | undefined;
    const req = request(`${base}${path}`, { method: kind.method, agent, headers }, (res) => {
      status = res.statusCode;
      if (res.statusCode !== kind.expected) {
        tally.unexpected++;
        note(`${kind.name}: status ${res.statusCode}, expected ${kind.expected}`);
      }
      res.on("error", (error) => settle(`response: ${error.message}`));
      res.on("aborted", () => settle("response aborted"));
      res.on("end", () => settle());
      if (kind === CREATE && res.statusCode === kind.expected) {
        body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
      } else res.resume();
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error("timed out")));
    req.on("error", (error: NodeJS.ErrnoException) => {
      const when = status === undefined ? "before any response" : `after the status ${status}`;
      settle(`${error.code ?? ""} ${error.message} (${when})`);
    });
    req.end(kind.body);
  });
}

// -- the memory --------------------------------------------------------------------------------------------------

/** The server's memory just after a full collection, `second` seconds into the load. */
interface AfterCollection {
  readonly second: number;
  readonly heapUsed: number;
  /** Memory of C++ objects tied to JavaScript ones: Buffers' bytes are here, not in the heap. */
  readonly external: number;
  readonly rss: number;
}
const collections: AfterCollection[] = [];
const MEMORY_USAGE =
  "(({ heapUsed, external, rss }) => ({ heapUsed, external, rss }))(process.memoryUsage())";

/** The inspector's calls, one at a time: a collection or a snapshot, each of which stops the server a while. */
let inspectorQueue: Promise<void> = Promise.resolve();
let inspectorFailure: string | undefined;
const withInspector = (task: () => Promise<void>) => {
  inspectorQueue = inspectorQueue.then(task).catch((error: Error) => {
    inspectorFailure ??= error.message;
  });
};

function collect(second: number): void {
  withInspector(async () => {
    await inspector.call("HeapProfiler.collectGarbage");
    collections.push({
      second,
      ...(await inspector.evaluate<Omit<AfterCollection, "second">>(MEMORY_USAGE)),
    });
  });
}

const snapshotDir = join(ROOT, "bench/.scratch");
const snapshotFiles: string[] = [];
function snapshot(second: number): void {
  withInspector(async () => {
    mkdirSync(snapshotDir, { recursive: true });
    const file = join(snapshotDir, `soak-${pid}-${second}s.heapsnapshot`);
    const begun = performance.now();
    await inspector.writeHeapSnapshot(file);
    snapshotFiles.push(file);
    console.log(
      `soak: ${second} s, heap snapshot in ${((performance.now() - begun) / 1000).toFixed(1)} s: ${file}`,
    );
  });
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const rss: number[] = [];
const started = performance.now();
const deadline = started + seconds * 1000;
let reported = 0;
const sampler = setInterval(() => {
  rss.push(residentBytes(pid));
  const second = rss.length;
  if (second % heapEvery === 0) collect(second);
  if (snapshotSeconds.has(second)) snapshot(second);
  if (second % 10 === 0) {
    const done = [...tallies.values()].reduce((sum, tally) => sum + tally.requests, 0);
    const latest = collections.at(-1);
    const heap =
      latest === undefined || latest.second <= reported
        ? ""
        : `; at ${latest.second} s after a full GC: heap ${mib(latest.heapUsed)}, external ${mib(latest.external)}, RSS ${mib(latest.rss)}`;
    reported = latest?.second ?? 0;
    console.log(`soak: ${second} s, ${done} requests, RSS ${mib(rss.at(-1)!)}${heap}`);
  }
}, 1000);

console.log(
  `soak: ${CONNECTIONS} connections for ${seconds} s against brisk serve examples/items/app.ts:app (pid ${pid}), ` +
    `a full GC every ${heapEvery} s`,
);
await Promise.all(
  Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < deadline && !exitedEarly) {
      const kind = pickKind();
      const created = await send(kind);
      // The example keeps every item it is given: a store that grows all along would look like a leak.
      if (created !== undefined) {
        await send(DELETE_CREATED, `/items/${(JSON.parse(created) as { id: number }).id}`);
      }
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
clearInterval(sampler);
const endRss = residentBytes(pid);
await inspectorQueue;
stopping = true;
inspector.close();
agent.destroy();
stopChild();

// -- the report --------------------------------------------------------------------------------------------------

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

// The memory after the warm-up, in the first third of the run, against that in the last third, the lowest of each:
// a sample can catch more in flight, never less. A leak raises the floor; a heap that settles does not. Heap used and
// external memory count together, since a leaked Buffer's bytes are external.
const inEarly = (second: number) => second >= WARM_UP_SECONDS && second <= seconds / 3;
const inLate = (second: number) => second >= (seconds * 2) / 3;
const early = collections.filter((sample) => inEarly(sample.second));
const late = collections.filter((sample) => inLate(sample.second));
const live = (sample: AfterCollection) => sample.heapUsed + sample.external;
const lowest = (of: readonly AfterCollection[], figure: (sample: AfterCollection) => number) =>
  Math.min(...of.map(figure));
const judged = early.length > 0 && late.length > 0;
const liveGrowth = ((lowest(late, live) - lowest(early, live)) / lowest(early, live)) * 100;
const lowestRss = (within: (second: number) => boolean) =>
  Math.min(...rss.filter((bytes, index) => within(index + 1) && Number.isFinite(bytes)));

const failures: string[] = [];
if (unexpected > 0) failures.push(`${unexpected} unexpected statuses`);
if (errors > 0) failures.push(`${errors} socket errors`);
if (judged && !(liveGrowth < LIVE_GROWTH_LIMIT)) {
  failures.push(
    `the heap used after a full GC grew ${liveGrowth.toFixed(1)} % (limit ${LIVE_GROWTH_LIMIT} %)`,
  );
}
if (inspectorFailure !== undefined) failures.push(`the memory could not be read: ${inspectorFailure}`);
if (died) failures.push("the server exited during the run");

const span = (of: readonly AfterCollection[]) => `${of[0]!.second}–${of.at(-1)!.second} s`;
const row = (name: string, figure: (sample: AfterCollection) => number) =>
  `\n  ${name.padEnd(18)}${mib(lowest(early, figure)).padStart(10)}${mib(lowest(late, figure)).padStart(14)}`;
const memory = judged
  ? `\nafter a full GC, lowest   ${span(early).padStart(10)}${span(late).padStart(14)}` +
    row("heap used", (sample) => sample.heapUsed) +
    row("external", (sample) => sample.external) +
    row("heap + external", live) +
    row("RSS", (sample) => sample.rss) +
    `\nheap growth         ${liveGrowth.toFixed(1)} % (heap used + external; target < ${LIVE_GROWTH_LIMIT} %)`
  : "\nafter a full GC     not judged: the run is too short to sample after the warm-up and in its last third";
console.log(`
total requests      ${total}
requests/s          ${(total / elapsed).toFixed(0)} (${elapsed.toFixed(1)} s)
unexpected statuses ${unexpected}
socket errors       ${errors}
RSS at second ${String(WARM_UP_SECONDS).padEnd(6)}${mib(rss[WARM_UP_SECONDS - 1] ?? Number.NaN)}
RSS at the end      ${mib(endRss)}
RSS peak            ${mib(Math.max(...rss))}
RSS lowest          ${mib(lowestRss(inEarly))} in the first third after the warm-up, ${mib(lowestRss(inLate))} in the last${memory}
heap used after each full GC (MiB) ${collections.map((sample) => (sample.heapUsed / 2 ** 20).toFixed(1)).join(" ")}
external after each full GC (MiB)  ${collections.map((sample) => (sample.external / 2 ** 20).toFixed(1)).join(" ")}
RSS after each full GC (MiB)       ${collections.map((sample) => (sample.rss / 2 ** 20).toFixed(0)).join(" ")}
RSS per second (MiB) ${rss.map((bytes) => (bytes / 2 ** 20).toFixed(0)).join(" ")}${snapshotFiles.length > 0 ? `\nheap snapshots      ${snapshotFiles.join(" ")}` : ""}
${failures.length === 0 ? "soak: passed" : `soak: FAILED: ${failures.join("; ")}`}`);
process.exit(failures.length === 0 ? 0 : 1);
