// Clients that vanish, and the server they vanish from: a real `brisk serve` child with its own empty TMPDIR, the
// count of its open file descriptors, the checks made after a hostile loop (still alive, still answering, nothing
// left open or on disk, nothing critical logged), a bounded pool to run hundreds of clients through, the ways a raw
// socket can go (destroy, reset, half-close).
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { DEADLINE_MS, type RawSocket } from "../hostile/raw-socket.ts";
import { killGroup, type Launched, launch, tempDir, waitForStdout } from "./cli.ts";
import { Random } from "./random.ts";

/** The seed of every random choice; `BRISK_DISCONNECTS_SEED=<n>` replays a failed run. */
export const SEED: number = Number(process.env.BRISK_DISCONNECTS_SEED ?? 0x5eed_0016);

/** How far the descriptor count may be from its baseline once the clients have gone. */
export const FD_MARGIN = 3;
/** How long the descriptors may take to come back: a generous upper bound, not a measurement. */
export const FD_DEADLINE_MS = 10_000;

/** The generator of client `index` of the loop named `label`: the same on every run of the same seed. */
export function clientRandom(label: string, index: number): Random {
  let hash = SEED >>> 0;
  for (const char of `${label}#${index}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return new Random(hash);
}

// ---------------------------------------------------------------------------------------------------------------
// The server.

/** A `brisk serve` child and what its checks compare against. */
export interface Served {
  readonly process: Launched;
  readonly label: string;
  /** `http://127.0.0.1:port` */
  readonly origin: string;
  readonly pid: number;
  /** Its TMPDIR, empty when it started. */
  readonly tmp: string;
  /** The variables it was given on top of this process's environment. */
  readonly env: NodeJS.ProcessEnv;
  /** Open descriptors after the warm-up (see {@link settleFds}). */
  baselineFds: number;
  /** What its TMPDIR held after the warm-up (tsx keeps its cache there). */
  baselineTmp: readonly string[];
}

/**
 * `brisk serve <entrypoint> --port 0` (with `--no-fast-lane` unless `fastLane`), its TMPDIR a fresh empty directory,
 * once it has printed the address it serves.
 */
export async function startServer(
  entrypoint: string,
  options: { readonly fastLane: boolean; readonly env?: NodeJS.ProcessEnv },
): Promise<Served> {
  const tmp = tempDir({ esm: false });
  const args = ["serve", entrypoint, "--port", "0", ...(options.fastLane ? [] : ["--no-fast-lane"])];
  const env = { TMPDIR: tmp, ...options.env };
  const launched = launch(args, undefined, env);
  const [, origin] = await waitForStdout(launched, /^brisk: serving \S+ at (http:\/\/\S+?)\r?$/m);
  assert.ok(origin !== undefined && launched.child.pid !== undefined);
  return {
    process: launched,
    label: `${entrypoint}${options.fastLane ? "" : " --no-fast-lane"}`,
    origin: new URL(origin).origin,
    pid: launched.child.pid,
    tmp,
    env,
    baselineFds: 0,
    baselineTmp: [],
  };
}

/** Kills the server (its checks are done). */
export function stopServer(server: Served | undefined): void {
  if (server !== undefined) killGroup(server.process.child);
}

export function isAlive(server: Served): boolean {
  const { child } = server.process;
  return child.exitCode === null && child.signalCode === null;
}

/** Whether a standard-error line is one a healthy server writes: an access entry or its own `brisk:` notes. */
function isRoutine(line: string): boolean {
  return line === "" || /^\S+ - "[^"]*" \d+ /.test(line) || /^brisk: /.test(line);
}

/** The server's standard error without the access entries, for failure messages. */
export function unusualStderr(server: Served, lines = 60): string {
  const unusual = server.process
    .stderr()
    .split("\n")
    .filter((line) => !isRoutine(line));
  return unusual.length === 0 ? "(nothing but access entries)" : unusual.slice(0, lines).join("\n");
}

/** What a failure message says about the server: whether it is alive, how it exited, its unusual stderr. */
export function describeServer(server: Served): string {
  const { child } = server.process;
  const state = isAlive(server)
    ? "is still running"
    : `has exited with code ${child.exitCode} (signal ${child.signalCode})`;
  return `${server.label} (pid ${server.pid}) ${state}; seed ${SEED}; its stderr, access entries left out:\n${unusualStderr(server)}`;
}

/** {@link describeServer}, once the server has had a moment to exit if it is dying (a connection it just reset). */
export async function describeServerSoon(server: Served): Promise<string> {
  await Promise.race([server.process.closed, sleep(2_000)]);
  return describeServer(server);
}

export function assertAlive(server: Served): void {
  assert.ok(isAlive(server), `the server died: ${describeServer(server)}`);
}

/**
 * Its standard error holds no `critical` entry (text or JSON), no stack trace, and no warning from Node that it
 * closed a file handle on garbage collection (a handle leaked, which the descriptor count no longer shows once the
 * collector has run).
 */
export function assertCleanStderr(server: Served): void {
  const lines = server.process.stderr().split("\n");
  const critical = lines.filter((line) => /^critical\b/.test(line) || /"level":\s*"critical"/.test(line));
  assert.deepEqual(critical, [], `critical entries on stderr: ${describeServer(server)}`);
  const stack = lines.filter((line) => /^\s+at /.test(line) || /\\n\s+at /.test(line));
  assert.deepEqual(stack.slice(0, 10), [], `a stack trace on stderr: ${describeServer(server)}`);
  const collected = lines.filter((line) => /Closing file descriptor \d+ on garbage collection/.test(line));
  assert.deepEqual(
    collected.slice(0, 5),
    [],
    `${collected.length} file handles were left open until garbage collection: ${describeServer(server)}`,
  );
}

/** How many descriptors the process has open. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The process's descriptors by kind (`socket`, `pipe`, `anon_inode:[eventpoll]`, a file's path), for messages. */
export function fdSummary(pid: number): string {
  const kinds = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/^(socket|pipe):\[\d+\]$/, "$1");
    } catch {
      continue; // Closed while being listed.
    }
    kinds.set(target, (kinds.get(target) ?? 0) + 1);
  }
  return [...kinds]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, count]) => `${count} × ${kind}`)
    .join(", ");
}

/**
 * Takes the baseline once the count has stopped moving (the warm-up's connections closed): the same count three
 * times in a row, 100 ms apart; at most ~5 s.
 */
export async function settleBaseline(server: Served): Promise<void> {
  const counts: number[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    counts.push(fdCount(server.pid));
    if (counts.length >= 3 && counts.slice(-3).every((count) => count === counts.at(-1))) break;
    await sleep(100);
  }
  server.baselineFds = fdCount(server.pid);
  server.baselineTmp = readdirSync(server.tmp).sort();
}

/** Polls until the descriptor count is back within {@link FD_MARGIN} of the baseline; fails with both counts. */
export async function assertFdsBack(server: Served): Promise<void> {
  const deadline = Date.now() + FD_DEADLINE_MS;
  let count = fdCount(server.pid);
  while (Math.abs(count - server.baselineFds) > FD_MARGIN && Date.now() < deadline) {
    await sleep(100);
    count = fdCount(server.pid);
  }
  assert.ok(
    Math.abs(count - server.baselineFds) <= FD_MARGIN,
    `${count} descriptors open ${FD_DEADLINE_MS} ms after the clients left, against ${server.baselineFds} before ` +
      `(margin ${FD_MARGIN}): ${fdSummary(server.pid)}\n${describeServer(server)}`,
  );
}

/** Its TMPDIR holds what it held after the warm-up, and no upload spooled there. */
export function assertTmpClean(server: Served): void {
  const now = readdirSync(server.tmp).sort();
  assert.deepEqual(
    now.filter((name) => name.startsWith("brisk-upload-")),
    [],
    `temporary upload files left in TMPDIR (${server.tmp}); seed ${SEED}`,
  );
  assert.deepEqual(now, server.baselineTmp, `TMPDIR changed (${server.tmp}); seed ${SEED}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Running the clients.

/** A failure of one client that was not the client's own doing (an unanswered handshake, a refused connection). */
export interface ClientFailure {
  readonly index: number;
  readonly point: string;
  readonly error: string;
}

/** What a loop did: how many clients ran each vanishing point, and what went wrong. */
export interface LoopReport {
  /** How many clients were to run. */
  readonly expected: number;
  readonly ran: Map<string, number>;
  readonly failures: ClientFailure[];
}

/** `BRISK_DISCONNECTS_ONLY=mid-frame,after-send` runs only those vanishing points (to narrow a failure down). */
const ONLY = process.env.BRISK_DISCONNECTS_ONLY?.split(",").map((point) => point.trim());

/**
 * Runs `count` clients, `concurrency` at a time; client `index` runs `points[index % points.length]`. Stops
 * starting new ones once the server has died. Each client's own errors (a reset, a refused connection) are
 * collected with its point.
 */
export async function runClients(
  server: Served,
  options: { readonly count: number; readonly concurrency: number; readonly points: readonly string[] },
  client: (index: number, point: string) => Promise<void>,
): Promise<LoopReport> {
  const points = ONLY === undefined ? options.points : options.points.filter((point) => ONLY.includes(point));
  const count = points.length === 0 ? 0 : options.count;
  const ran = new Map<string, number>();
  const failures: ClientFailure[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count && isAlive(server)) {
      const index = next++;
      const point = points[index % points.length]!;
      ran.set(point, (ran.get(point) ?? 0) + 1);
      try {
        await client(index, point);
      } catch (error) {
        failures.push({ index, point, error: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { expected: count, ran, failures };
}

/** Fails, with the server's state, unless the server is alive and every client ran without a failure. */
export function assertLoop(server: Served, report: LoopReport): void {
  const ran = [...report.ran].map(([point, times]) => `${point} ×${times}`).join(", ");
  assert.ok(
    isAlive(server),
    `the server died during the loop (clients run: ${ran}): ${describeServer(server)}`,
  );
  const total = [...report.ran.values()].reduce((sum, times) => sum + times, 0);
  assert.equal(total, report.expected, `every client ran (${ran})`);
  assert.deepEqual(
    report.failures.slice(0, 10),
    [],
    `${report.failures.length} clients failed (${ran}): ${describeServer(server)}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Vanishing.

/** How a client goes: FIN (destroy), RST (reset), or a half-close (FIN on its side only, still reading). */
export type Vanish = "destroy" | "reset" | "half-close" | "half-close-left";

/**
 * Sockets half-closed and left for the server to close: destroyed by {@link dropLeftovers} only after the
 * descriptor check, which therefore fails if the server keeps them open.
 */
const leftovers = new Set<RawSocket>();

/**
 * Makes the client vanish. `half-close` ends its side, reads on, and destroys the socket after `lingerMs` (or when
 * the server closes it); `half-close-left` ends its side and leaves the socket open for the server to close.
 */
export async function vanish(raw: RawSocket, how: Vanish, lingerMs = 0): Promise<void> {
  switch (how) {
    case "destroy":
      raw.socket.destroy();
      break;
    case "reset":
      raw.socket.resetAndDestroy();
      break;
    case "half-close":
      raw.socket.end();
      raw.socket.resume();
      await Promise.race([raw.closed, sleep(lingerMs)]);
      raw.socket.destroy();
      break;
    case "half-close-left":
      raw.socket.end();
      raw.socket.resume();
      leftovers.add(raw);
      break;
  }
}

/** How many half-closed sockets the server has not closed yet. */
export function openLeftovers(): number {
  return [...leftovers].filter((raw) => !raw.isClosed).length;
}

/** Destroys the half-closed sockets left to the server. */
export async function dropLeftovers(): Promise<void> {
  await Promise.all([...leftovers].map((raw) => raw.destroy()));
  leftovers.clear();
}

/**
 * Waits until `predicate` holds (checked as data arrives), the socket closes or `ms` passes; says whether it held.
 */
export function until(raw: RawSocket, predicate: () => boolean, ms: number = DEADLINE_MS): Promise<boolean> {
  if (predicate() || raw.isClosed) return Promise.resolve(predicate());
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      raw.socket.off("data", check);
      raw.socket.off("close", done);
      resolve(predicate());
    };
    const check = () => {
      if (predicate()) done();
    };
    const timer = setTimeout(done, ms);
    raw.socket.on("data", check);
    raw.socket.once("close", done);
  });
}

/** Writes and waits for the kernel to take the bytes, at most `ms` (a server that stopped reading holds them). */
export async function writeWithin(
  raw: RawSocket,
  bytes: string | Uint8Array,
  ms: number = DEADLINE_MS,
): Promise<void> {
  await Promise.race([raw.write(bytes), sleep(ms)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Plain requests, on connections closed after them (no keep-alive pool to hold descriptors in the server).

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export function call(
  server: Served,
  method: string,
  path: string,
  options: { readonly headers?: Record<string, string>; readonly body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${server.origin}${path}`,
      { method, headers: options.headers, agent: false, signal: AbortSignal.timeout(DEADLINE_MS) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

/** Calls with a JSON body and expects `status`; returns the parsed answer. */
export async function callJson(
  server: Served,
  method: string,
  path: string,
  json: unknown,
  status: number,
): Promise<unknown> {
  const answer = await call(server, method, path, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify(json),
  });
  assert.equal(answer.status, status, `${method} ${path}: ${answer.body.toString("utf8").slice(0, 500)}`);
  return JSON.parse(answer.body.toString("utf8"));
}
