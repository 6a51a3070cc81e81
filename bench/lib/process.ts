// Starting and stopping a bench server, pinned to a core, and reading its memory from /proc.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { buildApps, builtFile } from "./build.ts";
import { appFile, ROOT, type Server, type Suite } from "./servers.ts";

export interface Running {
  readonly server: Server;
  readonly suite: Suite;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  /** Resolves when the app prints `ready`; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** What the app wrote to stderr, for error messages. */
  stderr(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago; the OS picks it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * How an app is run: `node`, its compiled module on plain Node (`node bench/.build/<server>.mjs`), as deployed; or
 * `tsx`, its source through tsx's loader (`node --import tsx bench/apps/<server>.ts`), as in development.
 */
export type Runner = "node" | "tsx";

export interface AppOptions {
  /** Which of the server's apps: the api one (default) or the db one. */
  readonly suite?: Suite;
  /** Variables added to the app's environment, such as the db apps' DATABASE_URL. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts an app from the repository root with `runner` (default `node`, building the apps first if this process has
 * not); with `cpu`, under `taskset -c cpu` (taskset execs node, so the pid is node's).
 */
export async function startServer(
  server: Server,
  cpu?: number,
  runner: Runner = "node",
  options: AppOptions = {},
): Promise<Running> {
  const suite = options.suite ?? "api";
  if (runner === "node") await buildApps();
  const port = await freePort();
  const node =
    runner === "node"
      ? [process.execPath, builtFile(server, suite)]
      : [process.execPath, "--import", "tsx", appFile(server, suite)];
  const [command, ...args] = cpu === undefined ? node : ["taskset", "-c", String(cpu), ...node];
  const spawnedAt = performance.now();
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env, PORT: String(port), NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errors = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    errors = (errors + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.split("\n").includes("ready")) resolve();
    });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`${server} exited before ready (${signal ?? `code ${code}`}): ${errors.trim()}`)),
    );
  });
  ready.catch(() => {});
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!stopped) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  if (child.pid === undefined) throw new Error(`could not start ${server}`);
  return {
    server,
    suite,
    child,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    spawnedAt,
    ready,
    stderr: () => errors,
    stop,
  };
}

/** Resident memory of a process in bytes, from /proc/<pid>/status; NaN once it is gone. */
export function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? Number.NaN : Number(match[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's resident memory every `everyMs` until stopped; returns the peak in bytes. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = Number.NaN;
  const take = () => {
    const now = residentBytes(pid);
    if (Number.isFinite(now) && !(now <= peak)) peak = now;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** Pins this process (all its threads) to one core, so polling and sampling stay off the server's core. */
export function pinSelf(cpu: number): boolean {
  const result = spawnSync("taskset", ["-a", "-p", "-c", String(cpu), String(process.pid)], {
    stdio: "ignore",
  });
  return result.status === 0;
}

/** A process's user + system CPU time in microseconds, from /proc/<pid>/stat (clock ticks are 10 ms on Linux). */
export function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}
