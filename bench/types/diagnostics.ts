// Running tsc on a generated app and reading --extendedDiagnostics.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export interface Diagnostics {
  /** Every "Name: value" line tsc printed, e.g. "Check time" → "0.142s". */
  readonly raw: ReadonlyMap<string, string>;
  readonly checkSeconds: number;
  readonly totalSeconds: number;
  /** Wall time of the whole tsc process, start-up included. */
  readonly wallSeconds: number;
  readonly instantiations: number;
  readonly types: number;
  /** "Memory used", in bytes. */
  readonly memoryBytes: number;
  /** Type errors outside the generated app (in brisk's sources, which are checked as part of the program). */
  readonly outsideErrors: number;
}

const SIZE: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

function seconds(value: string | undefined): number {
  const match = /^([\d.]+)(ms|s)$/.exec(value ?? "");
  return match === null ? Number.NaN : Number(match[1]) / (match[2] === "ms" ? 1000 : 1);
}

function bytes(value: string | undefined): number {
  const match = /^([\d.]+)([KMG]?)B?$/.exec(value ?? "");
  return match === null ? Number.NaN : Number(match[1]) * SIZE[match[2]!]!;
}

export function parseDiagnostics(output: string, wallSeconds: number, outsideErrors = 0): Diagnostics {
  const raw = new Map<string, string>();
  for (const line of output.split("\n")) {
    const match = /^([A-Za-z][A-Za-z ]*?):\s+(\S+)\s*$/.exec(line);
    if (match !== null) raw.set(match[1]!, match[2]!);
  }
  return {
    raw,
    checkSeconds: seconds(raw.get("Check time")),
    totalSeconds: seconds(raw.get("Total time")),
    wallSeconds,
    instantiations: Number(raw.get("Instantiations") ?? Number.NaN),
    types: Number(raw.get("Types") ?? Number.NaN),
    memoryBytes: bytes(raw.get("Memory used")),
    outsideErrors,
  };
}

/**
 * `tsc --noEmit --extendedDiagnostics -p dir` with the repository's TypeScript. Throws on an error in the generated
 * app itself (the generator is wrong); errors elsewhere are counted, since brisk's sources may be mid-edit.
 */
export function typeCheck(root: string, dir: string): Diagnostics {
  const started = performance.now();
  const result = spawnSync(
    join(root, "node_modules", ".bin", "tsc"),
    ["--noEmit", "--extendedDiagnostics", "-p", dir],
    { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const wall = (performance.now() - started) / 1000;
  const output = `${result.stdout}${result.stderr}`;
  const errors = output.split("\n").filter((line) => / error TS\d+:/.test(line));
  const own = errors.filter((line) => line.includes(".generated/"));
  if (own.length > 0 || (result.status !== 0 && errors.length === 0)) {
    throw new Error(`tsc failed on ${dir}:\n${output.slice(0, 4000)}`);
  }
  return parseDiagnostics(output, wall, errors.length);
}

/** The TypeScript version tsc reports. */
export function tscVersion(root: string): string {
  const result = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--version"], { encoding: "utf8" });
  return result.stdout.trim().replace(/^Version\s+/, "");
}
