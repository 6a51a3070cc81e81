#!/usr/bin/env node
// The `brisk` command. It runs brisk's compiled code (dist/, built by `npm run build`, which `npm start`, `npm test`
// and `npm pack` run); loading a TypeScript entrypoint registers tsx first (src/cli/entrypoint.ts).

// Stack traces through source maps, turned on before any of brisk is loaded: brisk's frames then name its src/
// files and lines (the package ships both), and so do an app's compiled from TypeScript with maps. It costs
// about a megabyte while no error is formatted.
process.setSourceMapsEnabled(true);

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
