// Builds dist/: brisk's sources bundled into a few ES modules (the library entry, brisk/testing, the CLI, and the
// chunks they share), so that an app loads brisk as a few modules rather than forty. Types come from src/ directly.
import { rmSync } from "node:fs";
import { build } from "esbuild";

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
  // No source maps: the output is readable as it is, and a runtime with source maps on (tsx turns them on, and
  // `brisk serve` runs tsx) would load and keep them, about half a megabyte of heap for nothing.
  sourcemap: false,
  logLevel: "warning",
});
