import { type ChildProcess, spawn } from "node:child_process";
import { watch } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../internal/package-root.ts";
import { say } from "./say.ts";

const IGNORED = /(^|[/\\])(node_modules|\.git)([/\\]|$)/;
const WATCHED = /\.(m?[jt]s|json)$/;

/**
 * Runs `brisk serve` (without `--reload`) in a child process and restarts it whenever a source file under
 * `directory` changes. The parent owns the signals: SIGINT/SIGTERM stop the child and then the parent.
 */
export function serveWithReload(args: readonly string[], directory: string): void {
  const cli = join(packageRoot(), "bin", "brisk.mjs");
  let child: ChildProcess | undefined;
  let restarting = false;
  let stopping = false;

  const start = () => {
    child = spawn(process.execPath, [cli, "serve", ...args], { stdio: "inherit" });
    child.on("exit", () => {
      child = undefined;
      if (stopping) process.exit(0);
      if (restarting) {
        restarting = false;
        start();
      }
    });
  };

  let timer: NodeJS.Timeout | undefined;
  watch(directory, { recursive: true }, (_event, file) => {
    if (file === null || IGNORED.test(file) || !WATCHED.test(file)) return;
    clearTimeout(timer);
    // Editors write a file in several steps; restart once they are done.
    timer = setTimeout(() => {
      say("info", `${file} changed, restarting`);
      if (child === undefined) return start();
      restarting = true;
      child.kill("SIGTERM");
    }, 100);
  });

  const stop = () => {
    stopping = true;
    if (child === undefined) process.exit(0);
    child.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  start();
}
