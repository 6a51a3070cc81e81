#!/usr/bin/env node
// The `brisk` command. tsx lets it load TypeScript entrypoints (and brisk's own sources) on Node 20, in ESM
// packages and in CommonJS ones (a folder without "type": "module" makes .ts files CommonJS).
import { register as registerCommonJs } from "tsx/cjs/api";
import { register } from "tsx/esm/api";

registerCommonJs();
register();
const { main } = await import("../src/cli/main.ts");
await main(process.argv.slice(2));
