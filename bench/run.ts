// The benchmark runner: `npm run bench` (full) or `npm run bench -- --quick`; `--db` (`npm run bench:db`) runs the
// database workloads instead, against PostgreSQL. See bench/README.md.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { buildApps } from "./lib/build.ts";
import { checkResponses, seedItems, startupMs } from "./lib/check.ts";
import { prepareWorld } from "./lib/database.ts";
import { machine } from "./lib/machine.ts";
import {
  cpuMicros,
  pinSelf,
  type Runner,
  type Running,
  residentBytes,
  sampleRss,
  startServer,
} from "./lib/process.ts";
import { cellOf, type Results, renderReport } from "./lib/report.ts";
import { isServer, ROOT, type Server, type Suite, serversOf } from "./lib/servers.ts";
import { fixed, rate } from "./lib/table.ts";
import { DB_WORKLOADS, WORKLOADS, type Workload } from "./lib/workloads.ts";
import { ensureWrk, runWrk } from "./lib/wrk.ts";

const CONNECTIONS = 64;
const SERVER_CPU = 0;
const WRK_CPU = 1;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    // The database workloads (brisk, Fastify and node against PostgreSQL) instead of the others.
    db: { type: "boolean", default: false },
    out: { type: "string" },
    servers: { type: "string" },
    workloads: { type: "string" },
  },
});

function pick<T extends string>(list: string | undefined, all: readonly T[], what: string): T[] {
  if (list === undefined) return [...all];
  const names = list.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(all as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`unknown ${what}: ${unknown.join(", ")} (known: ${all.join(", ")})`);
  return all.filter((name) => names.includes(name));
}

const suite: Suite = values.db ? "db" : "api";
const suiteName = suite === "db" ? " with --db" : " without --db";
const servers: Server[] = pick(values.servers, serversOf(suite), `server${suiteName}`).filter(isServer);
const suiteWorkloads = suite === "db" ? DB_WORKLOADS : WORKLOADS;
const workloadNames = pick(
  values.workloads,
  suiteWorkloads.map((workload) => workload.name),
  `workload${suiteName}`,
);
const workloads: Workload[] = suiteWorkloads.filter((workload) => workloadNames.includes(workload.name));
const quick = values.quick;
const rounds = quick ? 1 : 5;
const warmSeconds = quick ? 1 : 2;
const seconds = quick ? 2 : 5;

// The peers, as bench/package-lock.json pins them (installed once, and again when the lockfile changes).
const install = spawnSync(process.execPath, [join(ROOT, "scripts", "install-tools.mjs"), "bench"], {
  cwd: ROOT,
  stdio: "inherit",
});
if (install.status !== 0) throw new Error("installing bench/'s packages failed");
ensureWrk();
// The db apps read the world table from a database of its own, created and filled once (and left for the next run).
const database = suite === "db" ? await prepareWorld() : undefined;
// The apps run compiled; a build error stops the run here rather than failing every round.
await buildApps();

const pinned = cpus().length >= 2 && pinSelf(WRK_CPU);
if (!pinned) console.error("warning: running without CPU pinning (needs taskset and 2 cores)");
const serverCpu = pinned ? SERVER_CPU : undefined;
const wrkCpu = pinned ? WRK_CPU : undefined;

const results: Results = {
  servers,
  workloads,
  cells: new Map(),
  memory: {
    node: { startupMs: new Map(), idleRssBytes: new Map() },
    tsx: { startupMs: new Map(), idleRssBytes: new Map() },
  },
  serverProblems: new Map(),
};

const live = new Set<Running>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.all([...live].map((running) => running.stop())).finally(() => process.exit(130));
  });
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Records a round that failed; a workload with no measured round at all is reported as broken. */
function failed(server: Server, round: number, error: unknown): void {
  push(results.serverProblems, server, `round ${round + 1}: ${(error as Error).message}`);
  for (const workload of workloads) {
    const cell = cellOf(results, server, workload.name);
    if (cell.rps.length === 0) cell.broken = true;
  }
  console.error(`[round ${round + 1}/${rounds}] ${server} failed: ${(error as Error).message}`);
}

/** Starts a server with `runner` and records its startup time and, 1 s after it is ready, its idle memory. */
async function startMeasured(server: Server, round: number, runner: Runner): Promise<Running> {
  const running = await startServer(server, serverCpu, runner, { suite, env: database?.env ?? {} });
  live.add(running);
  try {
    const startup = await startupMs(running);
    await running.ready;
    await sleep(1000);
    const idle = residentBytes(running.pid);
    const memory = results.memory[runner];
    push(memory.startupMs, server, startup);
    push(memory.idleRssBytes, server, idle);
    console.error(
      `[round ${round + 1}/${rounds}] ${server.padEnd(7)} started in ${fixed(startup, 0)} ms, ` +
        `idle ${fixed(idle / 1024 / 1024, 1)} MB${runner === "tsx" ? " (through tsx)" : ""}`,
    );
    return running;
  } catch (error) {
    await running.stop();
    live.delete(running);
    throw error;
  }
}

/**
 * One round for one server: its startup and idle memory through tsx; then the compiled app, started, checked,
 * warmed up and measured on every workload, and stopped.
 */
async function measureServer(server: Server, round: number): Promise<void> {
  try {
    const underTsx = await startMeasured(server, round, "tsx");
    await underTsx.stop();
    live.delete(underTsx);
  } catch (error) {
    push(results.serverProblems, server, `round ${round + 1} through tsx: ${(error as Error).message}`);
  }
  let running: Running;
  try {
    running = await startMeasured(server, round, "node");
  } catch (error) {
    failed(server, round, error);
    return;
  }
  try {
    if (suite === "api") await seedItems(running.url);
    const wrong = await checkResponses(running.url, workloads);
    for (const [name, message] of wrong) {
      const cell = cellOf(results, server, name);
      cell.broken = true;
      cell.problems.push(`broken: ${message}`);
    }
    const healthy = workloads.filter((workload) => !wrong.has(workload.name));

    for (const workload of healthy) {
      await runWrk({
        url: running.url,
        workload,
        seconds: warmSeconds,
        connections: CONNECTIONS,
        cpu: wrkCpu,
      });
    }
    for (const workload of healthy) {
      const sampler = sampleRss(running.pid);
      const cpuBefore = cpuMicros(running.pid);
      const result = await runWrk({
        url: running.url,
        workload,
        seconds,
        connections: CONNECTIONS,
        cpu: wrkCpu,
      });
      const peak = sampler.stop();
      const cpuUsed = cpuMicros(running.pid) - cpuBefore;
      const cell = cellOf(results, server, workload.name);
      if (result.requests > 0) cell.cpuMicros.push(cpuUsed / result.requests);
      cell.rps.push(result.requestsPerSecond);
      cell.p99Ms.push(result.p99Ms);
      cell.peakRssBytes.push(peak);
      const unexpected = workload.expect === "4xx" ? result.requests - result.non2xx : result.non2xx;
      if (unexpected > 0) {
        cell.problems.push(
          `${unexpected} of ${result.requests} responses were ${workload.expect === "4xx" ? "" : "not "}2xx/3xx`,
        );
      }
      if (result.socketErrors > 0)
        cell.problems.push(`${result.socketErrors} socket errors in round ${round + 1}`);
      if (result.requests === 0) cell.problems.push(`no request completed in round ${round + 1}`);
      console.error(
        `[round ${round + 1}/${rounds}] ${server.padEnd(7)} ${workload.name.padEnd(14)} ` +
          `${rate(result.requestsPerSecond).padStart(7)} req/s  p99 ${fixed(result.p99Ms, 2)} ms  ` +
          `peak ${fixed(peak / 1024 / 1024, 1)} MB`,
      );
    }
  } catch (error) {
    failed(server, round, error);
  } finally {
    await running.stop();
    live.delete(running);
  }
}

const started = performance.now();
const before = machine();
for (let round = 0; round < rounds; round++) {
  // Rotating the order spreads any drift (thermal, other load) over all servers alike.
  const order = servers.map((_, index) => servers[(index + round) % servers.length]!);
  for (const server of order) await measureServer(server, round);
}

const report = renderReport(results, {
  suite,
  mode: quick ? "quick" : "full",
  rounds,
  warmSeconds,
  seconds,
  connections: CONNECTIONS,
  pinned,
  elapsedSeconds: (performance.now() - started) / 1000,
  machine: before,
  loadAtEnd: loadavg()[0] ?? 0,
  ...(database === undefined ? {} : { database: database.description }),
});
process.stdout.write(report);
if (values.out !== undefined) writeFileSync(values.out, report);
