// What the report says about where it ran: the machine, Node, and the versions of everything measured.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { PACKAGES, ROOT, type Suite } from "./servers.ts";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly kernel: string;
  /** The 1-minute load average when the run started: other work on the machine skews the numbers. */
  readonly load: number;
}

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match !== null) cpu = match[1]!.trim();
  } catch {
    // Not Linux: os.cpus() named it already.
  }
  return { cpu, cores: cpus().length, node: process.version, kernel: release(), load: loadavg()[0] ?? 0 };
}

function versionOf(packageJson: string): string {
  try {
    return (JSON.parse(readFileSync(packageJson, "utf8")) as { version?: string }).version ?? "?";
  } catch {
    return "missing";
  }
}

/** brisk's version with the commit it was measured at (read-only git), marked when the tree has changes. */
export function briskVersion(): string {
  const version = versionOf(join(ROOT, "package.json"));
  const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return version;
  const dirty = git("status", "--porcelain", "--", "src").stdout.trim() !== "";
  return `${version} (${head.stdout.trim()}${dirty ? ", src/ modified" : ""})`;
}

/**
 * Versions of the suite's peers as installed in bench/node_modules; Zod is the repository root's copy, which every
 * app (and brisk) shares (see bench/.npmrc).
 */
export function packageVersions(suite: Suite): [name: string, version: string][] {
  return PACKAGES[suite].map((name) => {
    const benchCopy = versionOf(join(ROOT, "bench", "node_modules", name, "package.json"));
    return [
      name,
      benchCopy === "missing" ? versionOf(join(ROOT, "node_modules", name, "package.json")) : benchCopy,
    ];
  });
}
