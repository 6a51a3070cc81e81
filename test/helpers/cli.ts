// Running the real CLI in child processes for tests: launching `node bin/brisk.mjs ...`, waiting for its output
// or its exit, and the temporary directories and ports those tests need. Everything launched or created is removed
// after the test file, also when the runner is interrupted.
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

export const REPO: string = fileURLToPath(new URL("../..", import.meta.url));
export const CLI: string = join(REPO, "bin", "brisk.mjs");
/** brisk's sources, which the apps tests write import by absolute path. */
export const INDEX: string = join(REPO, "src", "index.ts");
export const START_TIMEOUT_MS = 20_000;
export const EXIT_TIMEOUT_MS = 20_000;

export type Child = ChildProcessByStdio<null, Readable, Readable>;

/** A CLI process: its output so far and its exit code once it has exited (null when killed by a signal). */
export interface Launched {
  readonly child: Child;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly closed: Promise<number | null>;
  /** Everything the process wrote, for failure messages. */
  readonly output: () => string;
}

const launched = new Set<Launched>();
const tempDirs: string[] = [];

/** Kills a child's whole process group (so that a `--reload` parent's child goes too); ignores the already gone. */
export function killGroup(child: Child): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is gone already.
  }
}

function cleanUp(): void {
  for (const each of launched) killGroup(each.child);
  launched.clear();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

after(cleanUp);
// A last resort if the runner is interrupted: never leave a server behind.
process.on("exit", cleanUp);

/**
 * Runs `node bin/brisk.mjs ...args` in its own process group (killed as a group on clean-up), with this process's
 * environment plus `env`.
 */
export function launch(args: readonly string[], cwd: string = REPO, env: NodeJS.ProcessEnv = {}): Launched {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  // Tests await it when they care; an unobserved rejection must not crash the runner.
  closed.catch(() => {});
  const result: Launched = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    closed,
    output: () =>
      `--- command: brisk ${args.join(" ")} (cwd ${cwd})\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`,
  };
  launched.add(result);
  return result;
}

/** Resolves with the exit code, or rejects (with the output) if the process is still running after `ms`. */
export function exitCode(process_: Launched, ms: number = EXIT_TIMEOUT_MS): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the process did not exit within ${ms} ms\n${process_.output()}`)),
      ms,
    );
  });
  return Promise.race([process_.closed, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until `pattern` matches the process's stdout; fails with the output on exit or timeout. */
export function waitForStdout(
  process_: Launched,
  pattern: RegExp,
  ms: number = START_TIMEOUT_MS,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = process_.stdout().match(pattern);
      if (match === null) return false;
      finish();
      resolve(match);
      return true;
    };
    const onData = () => void check();
    const onClose = () => {
      if (check()) return;
      finish();
      reject(new Error(`the process exited before printing ${pattern}\n${process_.output()}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no ${pattern} on stdout within ${ms} ms\n${process_.output()}`));
    }, ms);
    const finish = () => {
      clearTimeout(timer);
      process_.child.stdout.off("data", onData);
      process_.child.off("close", onClose);
    };
    process_.child.stdout.on("data", onData);
    process_.child.on("close", onClose);
    check();
  });
}

/**
 * A fresh directory under the system's temp directory, removed after the tests. With `esm` (the default) it holds
 * a `package.json` of `"type": "module"`, like the project of a user writing ESM TypeScript.
 */
export function tempDir(options: { esm?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "brisk-cli-test-"));
  tempDirs.push(dir);
  if (options.esm ?? true) writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  return dir;
}

/** Writes a TypeScript module importing brisk by absolute path; `body` may use `App`. */
export function writeAppModule(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import { App } from ${JSON.stringify(INDEX)};\n\n${body}\n`);
  return file;
}

/** A port that was free a moment ago: bound on 127.0.0.1:0, then released. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** Listens on 127.0.0.1:port; rejects (e.g. EADDRINUSE) if it cannot. */
export async function listenOn(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
