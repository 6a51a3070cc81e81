#!/usr/bin/env node
// The `brisk` command. tsx lets it load TypeScript entrypoints (and brisk's own sources) on Node 20.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
await main(process.argv.slice(2));
