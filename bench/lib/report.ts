// The markdown report: one table per server × workload, one for startup and idle memory, and the context.

import { briskVersion, type Machine, packageVersions } from "./machine.ts";
import type { Runner } from "./process.ts";
import { probePath, type Server, type Suite } from "./servers.ts";
import { max, median, min } from "./stats.ts";
import { fixed, markdownTable, rate, ratio } from "./table.ts";
import type { Workload } from "./workloads.ts";
import { wrkVersion } from "./wrk.ts";

/** What was measured for one server on one workload, one entry per round. */
export interface Cell {
  readonly rps: number[];
  readonly p99Ms: number[];
  readonly peakRssBytes: number[];
  /** The server's own CPU time (user + system) per request, in microseconds. */
  readonly cpuMicros: number[];
  /** Why a round's numbers are missing or suspect. */
  readonly problems: string[];
  broken: boolean;
}

export interface StartupAndMemory {
  readonly startupMs: Map<Server, number[]>;
  readonly idleRssBytes: Map<Server, number[]>;
}

export interface Results {
  readonly servers: readonly Server[];
  readonly workloads: readonly Workload[];
  readonly cells: Map<Server, Map<string, Cell>>;
  /** Per runner: `node`, the compiled apps, which also serve the throughput runs; `tsx`, their sources. */
  readonly memory: Record<Runner, StartupAndMemory>;
  /** Problems that stopped a server altogether (it did not start, or crashed). */
  readonly serverProblems: Map<Server, string[]>;
}

export interface RunSettings {
  readonly suite: Suite;
  readonly mode: "full" | "quick";
  readonly rounds: number;
  readonly warmSeconds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly pinned: boolean;
  readonly elapsedSeconds: number;
  readonly machine: Machine;
  readonly loadAtEnd: number;
  /** For the db suite: where the rows came from and how the apps reached them. */
  readonly database?: string;
}

const MB = 1024 * 1024;

export function cellOf(results: Results, server: Server, workload: string): Cell {
  let byWorkload = results.cells.get(server);
  if (byWorkload === undefined) results.cells.set(server, (byWorkload = new Map()));
  let cell = byWorkload.get(workload);
  if (cell === undefined) {
    cell = { rps: [], p99Ms: [], peakRssBytes: [], cpuMicros: [], problems: [], broken: false };
    byWorkload.set(workload, cell);
  }
  return cell;
}

function throughputTable(results: Results): string {
  const rows: string[][] = [];
  for (const workload of results.workloads) {
    const rpsOf = (server: Server) => {
      const cell = results.cells.get(server)?.get(workload.name);
      return cell === undefined || cell.broken ? Number.NaN : median(cell.rps);
    };
    const fastify = rpsOf("fastify");
    const node = rpsOf("node");
    for (const server of results.servers) {
      const cell = results.cells.get(server)?.get(workload.name);
      const rps = rpsOf(server);
      rows.push([
        workload.name,
        server,
        cell?.broken === true || cell === undefined ? "broken" : rate(rps),
        cell?.broken === true || cell === undefined ? "–" : `${rate(min(cell.rps))}–${rate(max(cell.rps))}`,
        fixed(median(cell?.p99Ms ?? []), 2),
        fixed(median(cell?.cpuMicros ?? []), 1),
        fixed(max(cell?.peakRssBytes ?? []) / MB, 1),
        ratio(rps, fastify),
        ratio(rps, node),
      ]);
    }
  }
  return markdownTable(
    [
      "workload",
      "server",
      "req/s (median)",
      "req/s (lowest–highest)",
      "p99 ms (median)",
      "CPU µs/req (median)",
      "peak RSS MB",
      "vs fastify",
      "vs node",
    ],
    rows,
    ["left", "left", "right", "right", "right", "right", "right", "right", "right"],
  );
}

function startupTable(results: Results): string {
  const startup = (memory: StartupAndMemory, server: Server) =>
    fixed(median(memory.startupMs.get(server) ?? []), 0);
  const idle = (memory: StartupAndMemory, server: Server) =>
    fixed(median(memory.idleRssBytes.get(server) ?? []) / MB, 1);
  const rows = results.servers.map((server) => [
    server,
    startup(results.memory.node, server),
    idle(results.memory.node, server),
    startup(results.memory.tsx, server),
    idle(results.memory.tsx, server),
  ]);
  return markdownTable(
    ["server", "startup ms", "idle RSS MB", "startup ms (tsx)", "idle RSS MB (tsx)"],
    rows,
    ["left", "right", "right", "right", "right"],
  );
}

function problems(results: Results): string[] {
  const lines: string[] = [];
  for (const server of results.servers) {
    for (const problem of results.serverProblems.get(server) ?? []) lines.push(`- ${server}: ${problem}`);
    for (const workload of results.workloads) {
      const cell = results.cells.get(server)?.get(workload.name);
      for (const problem of new Set(cell?.problems ?? []))
        lines.push(`- ${server} ${workload.name}: ${problem}`);
    }
  }
  return lines;
}

export function renderReport(results: Results, settings: RunSettings): string {
  const { machine } = settings;
  const versions = [
    `brisk ${briskVersion()}`,
    ...packageVersions(settings.suite).map(([name, v]) => `${name} ${v}`),
  ];
  const found = problems(results);
  const built = settings.suite === "api" ? "<server>" : "db-<server>";
  const source = settings.suite === "api" ? "<server>" : "db/<server>";
  const minutes = Math.floor(settings.elapsedSeconds / 60);
  const seconds = Math.round(settings.elapsedSeconds % 60);
  return [
    settings.suite === "api" ? "# brisk benchmark" : "# brisk database benchmark",
    "",
    `- run: ${settings.mode}, ${settings.rounds} round${settings.rounds === 1 ? "" : "s"} (servers interleaved, ` +
      `order rotated per round), ${settings.warmSeconds} s warm-up and ${settings.seconds} s measured per ` +
      `workload, wrk -t1 -c${settings.connections} --latency; took ${minutes} min ${seconds} s`,
    `- pinning: ${settings.pinned ? "server on core 0, wrk and the runner on core 1 (taskset)" : "none (fewer than 2 cores)"}`,
    `- machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}; ` +
      `1-minute load average ${machine.load.toFixed(2)} at the start, ${settings.loadAtEnd.toFixed(2)} at the end ` +
      "(the run itself adds about 2)",
    ...(settings.database === undefined ? [] : [`- database: ${settings.database}`]),
    `- versions: ${versions.join(", ")}, wrk ${wrkVersion()}`,
    "",
    "## Throughput and latency",
    "",
    throughputTable(results),
    "",
    "req/s, p99 and CPU µs/req (the server process's user + system time divided by the requests it answered; " +
      "steadier than req/s on a shared machine) are medians across rounds, and the lowest and highest req/s of a round " +
      "show how far apart the server's processes were; peak RSS is the highest resident memory sampled every 100 ms while " +
      "the workload ran (MB = MiB); the ratios divide req/s by Fastify's and by plain node:http's.",
    "",
    "## Startup and idle memory",
    "",
    startupTable(results),
    "",
    `Startup is from the spawn of \`node bench/.build/${built}.mjs\` (the app compiled to JavaScript, as deployed) to ` +
      `the first 200 on GET ${probePath(settings.suite)}; idle RSS is read 1 s after that. The tsx columns start the ` +
      `same app's source with \`node --import tsx bench/apps/${source}.ts\` instead, as in development; medians ` +
      "across rounds.",
    "",
    ...(found.length === 0
      ? ["No problems: every response had the expected status."]
      : ["## Problems", "", ...found]),
    "",
    "Compare numbers only within one run on one machine.",
    "",
  ].join("\n");
}
