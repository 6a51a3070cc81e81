#!/usr/bin/env node
// The `brisk` command. It runs brisk's compiled code (dist/, built by `npm run build`, which `npm install` runs),
// and registers tsx so that it can load TypeScript entrypoints on Node 20, in ESM packages and in CommonJS ones
// (a folder without "type": "module" makes .ts files CommonJS).
import { register as registerCommonJs } from "tsx/cjs/api";
import { register } from "tsx/esm/api";

registerCommonJs();
register();
let cli;
try {
  cli = await import("../dist/cli/main.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/cli/main.js"))
    throw error;
  console.error("brisk: dist/ is missing; build it with `npm run build`");
  process.exit(1);
}
await cli.main(process.argv.slice(2));
