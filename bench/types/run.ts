// Type-check cost: `npm run bench:types`. Generates a 200-route brisk app, the same 200 routes in Hono zod-openapi,
// a 400-route brisk app and 1-route baselines, then times `tsc --noEmit --extendedDiagnostics` on each.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";
import { fixed, markdownTable, ratio } from "../lib/table.ts";
import { type Diagnostics, tscVersion, typeCheck } from "./diagnostics.ts";
import { briskApp, honoApp, TSCONFIG } from "./generate.ts";

interface Variant {
  readonly name: string;
  readonly framework: "brisk" | "hono";
  readonly routes: number;
}

const VARIANTS: readonly Variant[] = [
  { name: "brisk-1", framework: "brisk", routes: 1 },
  { name: "hono-1", framework: "hono", routes: 1 },
  { name: "brisk-200", framework: "brisk", routes: 200 },
  { name: "hono-200", framework: "hono", routes: 200 },
  { name: "brisk-400", framework: "brisk", routes: 400 },
];

const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, out: { type: "string" } },
});
const runs = Number(values.runs);
const generated = join(ROOT, "bench", "types", ".generated");

interface Measured {
  readonly variant: Variant;
  readonly runs: readonly Diagnostics[];
}

function generate(variant: Variant): string {
  const dir = join(generated, variant.name);
  mkdirSync(dir, { recursive: true });
  const source = variant.framework === "brisk" ? briskApp(variant.routes) : honoApp(variant.routes);
  writeFileSync(join(dir, "app.ts"), source);
  writeFileSync(join(dir, "tsconfig.json"), TSCONFIG);
  return relative(ROOT, dir);
}

rmSync(generated, { recursive: true, force: true });
const dirs = new Map(VARIANTS.map((variant) => [variant.name, generate(variant)]));

// Runs are interleaved, like the server rounds, so that drift on the machine hits every variant alike.
const measured = new Map<string, Diagnostics[]>(VARIANTS.map((variant) => [variant.name, []]));
for (let run = 0; run < runs; run++) {
  for (const variant of VARIANTS) {
    const result = typeCheck(ROOT, dirs.get(variant.name)!);
    measured.get(variant.name)!.push(result);
    console.error(
      `[run ${run + 1}/${runs}] ${variant.name.padEnd(9)} check ${fixed(result.checkSeconds, 3)} s, ` +
        `total ${fixed(result.totalSeconds, 3)} s, ${result.instantiations} instantiations`,
    );
  }
}

const summary: Measured[] = VARIANTS.map((variant) => ({ variant, runs: measured.get(variant.name)! }));
const pick = (name: string, key: keyof Omit<Diagnostics, "raw">) =>
  median(summary.find((entry) => entry.variant.name === name)!.runs.map((run) => run[key]));

const rows = summary.map(({ variant }) => [
  variant.name,
  String(variant.routes),
  fixed(pick(variant.name, "checkSeconds"), 3),
  fixed(pick(variant.name, "totalSeconds"), 3),
  fixed(pick(variant.name, "wallSeconds"), 3),
  pick(variant.name, "instantiations").toLocaleString("en-US"),
  pick(variant.name, "types").toLocaleString("en-US"),
  fixed(pick(variant.name, "memoryBytes") / 1024 / 1024, 0),
]);

const ratioRows = (["checkSeconds", "totalSeconds", "instantiations", "memoryBytes"] as const).map((key) => [
  {
    checkSeconds: "check time",
    totalSeconds: "total time",
    instantiations: "instantiations",
    memoryBytes: "memory",
  }[key],
  ratio(pick("brisk-200", key), pick("hono-200", key)),
  ratio(pick("brisk-400", key), pick("brisk-200", key)),
]);

const perRoute = (name: string, base: string, routes: number) =>
  ((pick(name, "checkSeconds") - pick(base, "checkSeconds")) / (routes - 1)) * 1000;

const outside = Math.max(...summary.flatMap((entry) => entry.runs.map((run) => run.outsideErrors)));
const first = summary[0]!.runs[0]!;
const report = [
  "# Type-check cost",
  "",
  `- TypeScript ${tscVersion(ROOT)} (\`tsc --noEmit --extendedDiagnostics\`), median of ${runs} runs; Node ${process.version}`,
  "- each route: a path with one `{id}` parameter, a 2-field query schema, a body schema on every other route, " +
    "a response schema; every route has its own field names",
  `- counters this tsc prints: ${[...first.raw.keys()].join(", ")}`,
  "",
  markdownTable(
    ["app", "routes", "check s", "total s", "wall s", "instantiations", "types", "memory MB"],
    rows,
    ["left", "right", "right", "right", "right", "right", "right", "right"],
  ),
  "",
  markdownTable(["", "brisk-200 / hono-200", "brisk-400 / brisk-200"], ratioRows, ["left", "right", "right"]),
  "",
  `Check time per added route: brisk ${fixed(perRoute("brisk-200", "brisk-1", 200), 2)} ms, ` +
    `hono ${fixed(perRoute("hono-200", "hono-1", 200), 2)} ms. The 1-route apps are the fixed cost: both ` +
    "packages ship declaration files, which skipLibCheck leaves unchecked; what remains is what the app's code asks for.",
  ...(outside > 0
    ? [
        "",
        `Note: tsc also reported ${outside} type error(s) outside the generated apps (in brisk's sources).`,
      ]
    : []),
  "",
].join("\n");

process.stdout.write(report);
if (values.out !== undefined) writeFileSync(values.out, report);
