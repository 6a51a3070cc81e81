// Running wrk and reading its report.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { luaScript, type Workload } from "./workloads.ts";

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  /** Responses whose status was not 2xx or 3xx. */
  readonly non2xx: number;
  /** connect + read + write + timeout errors. */
  readonly socketErrors: number;
  readonly raw: string;
}

export interface WrkOptions {
  readonly url: string;
  readonly workload: Workload;
  readonly seconds: number;
  readonly connections: number;
  /** The core to pin wrk to. */
  readonly cpu?: number | undefined;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function wrkPresent(): boolean {
  return spawnSync("wrk", ["-v"], { stdio: "ignore" }).error === undefined;
}

/** Installs wrk with apt-get when it is missing (as root), refreshing the package lists if the first try fails. */
export function ensureWrk(): void {
  if (wrkPresent()) return;
  if (process.getuid?.() !== 0)
    throw new Error("wrk is not installed: install it (apt-get install wrk) and retry");
  console.error("wrk is missing: installing it with apt-get");
  const install = () => spawnSync("apt-get", ["install", "-y", "wrk"], { stdio: "inherit" }).status === 0;
  if (!install()) {
    spawnSync("apt-get", ["update"], { stdio: "inherit" });
    if (!install()) throw new Error("apt-get install -y wrk failed");
  }
  if (!wrkPresent()) throw new Error("wrk is still missing after apt-get install");
}

/** wrk's version line, e.g. "4.1.0-3+b2 [epoll]" (wrk -v prints it and exits 1). */
export function wrkVersion(): string {
  const result = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  const line = `${result.stdout}${result.stderr}`.split("\n")[0] ?? "";
  const match = /^wrk\s+(.*?)\s+Copyright/.exec(line);
  return (match?.[1] ?? line).replace(/^debian\//, "");
}

function toMs(value: string, unit: string): number {
  return Number(value) * (UNIT_MS[unit] ?? Number.NaN);
}

/** Reads the numbers the runner needs from wrk's text report (run with --latency). */
export function parseWrk(raw: string): WrkResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(raw);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(raw);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m|h)/m.exec(raw);
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(raw);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  if (total === null || rps === null || p99 === null) throw new Error(`unexpected wrk output:\n${raw}`);
  return {
    requests: Number(total[1]),
    seconds: toMs(total[2]!, total[3]!) / 1000,
    requestsPerSecond: Number(rps[1]),
    p99Ms: toMs(p99[1]!, p99[2]!),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors: socket === null ? 0 : socket.slice(1).reduce((sum, count) => sum + Number(count), 0),
    raw,
  };
}

/** Runs wrk with one thread (the server has one core to itself) and the latency distribution on. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const script = luaScript(options.workload);
  const dir = script === undefined ? undefined : mkdtempSync(join(tmpdir(), "brisk-bench-"));
  try {
    const args = ["-t1", `-c${options.connections}`, `-d${options.seconds}s`, "--latency"];
    if (dir !== undefined && script !== undefined) {
      const file = join(dir, `${options.workload.name}.lua`);
      writeFileSync(file, script);
      args.push("-s", file);
    }
    args.push(`${options.url}${options.workload.path}`);
    const [command, ...rest] =
      options.cpu === undefined ? ["wrk", ...args] : ["taskset", "-c", String(options.cpu), "wrk", ...args];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(command!, rest, { stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`)),
      );
    });
    return parseWrk(output);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
