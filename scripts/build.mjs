// Builds dist/, what the published package runs and what its types are:
// - the JavaScript: brisk's sources bundled into a few ES modules (the library entry, briskjs/testing, the CLI, and
//   the chunks they share), so that an app loads brisk as a few modules rather than forty; with source maps that
//   point into src/ (shipped beside dist/), so that a stack trace names brisk's own files and lines;
// - the declaration files, one per public source module, with declaration maps: a consumer's compiler reads these,
//   never brisk's sources, so brisk's compiler settings stay brisk's business;
// - the docs pages' browser bundles (Swagger UI, ReDoc), copied from their packages with their licences, so that
//   an install carries three files rather than those packages and their dependencies (ReDoc's are React, MobX and
//   styled-components, none of which the prebuilt bundle loads).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);

// Chunk names carry content hashes: without a clean start, every build would leave the last one's chunks behind.
rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: ["src/index.ts", "src/testing.ts", "src/cli/main.ts"],
  outbase: "src",
  outdir: "dist",
  entryNames: "[dir]/[name]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  // The maps name the sources (../src/…) without carrying them: the package ships src/, and a map without the
  // sources' text is a sixth of the size for a runtime that loads it (`brisk serve` does; see src/cli/main.ts).
  sourcemap: "linked",
  sourcesContent: false,
  logLevel: "warning",
});

// Declarations: the project's compiler, from tsconfig.build.json (the public entry points, no DOM library).
const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });

// The sources import each other as `./x.ts` (run as they are by tsx and Node's type stripping), and the compiler
// keeps those specifiers in declarations, where a consumer's compiler would refuse them without
// allowImportingTsExtensions. Each names a declaration file beside it, which `./x.js` resolves to; the rewrite
// keeps every line's length, so the declaration maps stay right.
const RELATIVE_TS = /((?:from|import)\s*\(?\s*["']\.{1,2}\/[^"']*)\.ts(["'])/g;
for (const entry of readdirSync("dist", { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, "utf8");
  const rewritten = text.replace(RELATIVE_TS, "$1.js$2");
  if (rewritten !== text) writeFileSync(file, rewritten);
}

// The docs pages' bundles and the licences they are distributed under (src/docs/assets.ts serves them).
const packageDir = (name) => dirname(require.resolve(`${name}/package.json`));
const UI_FILES = [
  ["swagger-ui-dist", "swagger-ui-bundle.js"],
  ["swagger-ui-dist", "swagger-ui.css"],
  ["swagger-ui-dist", "oauth2-redirect.js"],
  ["swagger-ui-dist", "favicon-32x32.png"],
  ["swagger-ui-dist", "LICENSE", "swagger-ui.LICENSE"],
  ["swagger-ui-dist", "NOTICE", "swagger-ui.NOTICE"],
  ["swagger-ui-dist", "swagger-ui-bundle.js.LICENSE.txt"],
  ["redoc", "bundles/redoc.standalone.js", "redoc.standalone.js"],
  ["redoc", "bundles/redoc.standalone.js.LICENSE.txt", "redoc.standalone.js.LICENSE.txt"],
  ["redoc", "LICENSE", "redoc.LICENSE"],
];
mkdirSync("dist/ui");
for (const [name, file, as = file] of UI_FILES)
  copyFileSync(join(packageDir(name), file), join("dist/ui", as));
