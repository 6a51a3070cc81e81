import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** The repository's root: children run there, so relative paths such as examples/… resolve as in `npm test`. */
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The longest one step may take: starting a process, loading a page, rendering, a response. The machine is slow. */
export const STEP_MS = 60_000;

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** A child process in its own process group, with everything it wrote so far. */
export interface Spawned {
  readonly child: Child;
  readonly output: () => string;
}

/**
 * Spawns `command` in its own process group (so {@link stop} also reaches whatever it starts), without colours,
 * with this process's environment plus `env`, recording its stdout and stderr for waits and failure messages.
 */
export function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(command, args, {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.on("error", (error) => (output += `\n[spawn error: ${error.message}]`));
  return { child, output: () => `--- ${command} ${args.join(" ")}\n${output}` };
}

/** Whether the child has neither exited nor been killed: a wait gives up early once it is gone. */
export function isRunning({ child }: Spawned): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Stops a process group: SIGTERM, then SIGKILL if it is still there after a few seconds. */
export async function stop(spawned: Spawned | undefined): Promise<void> {
  const pid = spawned?.child.pid;
  if (spawned === undefined || pid === undefined || !isRunning(spawned)) return;
  const exited = new Promise<void>((resolve) => spawned.child.once("exit", () => resolve()));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return; // The group is gone already.
  }
  await Promise.race([exited, sleep(5_000)]);
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // It exited on SIGTERM.
  }
}

/**
 * A last resort if the runner is interrupted before `after` runs: SIGKILLs the process groups of whatever
 * `spawned()` returns when the process exits, so no server or proxy is left behind.
 */
export function killOnExit(spawned: () => readonly (Spawned | undefined)[]): void {
  process.on("exit", () => {
    for (const pid of spawned().map((each) => each?.child.pid)) {
      try {
        if (pid !== undefined) process.kill(-pid, "SIGKILL");
      } catch {
        // The group is gone already.
      }
    }
  });
}

/** Polls `probe` every 100 ms until it returns a value; fails with `explain()` if `alive()` turns false or after `ms`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  explain: () => string,
  alive: () => boolean = () => true,
  ms: number = STEP_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (!alive()) assert.fail(`exited early: ${explain()}`);
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${explain()}`);
    await sleep(100);
  }
}

/**
 * `brisk serve <entrypoint> --port 0` from the repository (with this process's environment plus `env`), once it has
 * printed the origin it serves.
 */
export async function serveExample(
  entrypoint: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ readonly server: Spawned; readonly origin: string }> {
  const server = start(process.execPath, [`${REPO}/bin/brisk.mjs`, "serve", entrypoint, "--port", "0"], env);
  const address = await waitFor(
    () => /^brisk: serving \S+ at (http:\/\/\S+?)\r?$/m.exec(server.output())?.[1],
    () => `brisk prints the address it serves\n${server.output()}`,
    () => isRunning(server),
  );
  return { server, origin: new URL(address).origin };
}
