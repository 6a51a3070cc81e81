// The apps as a deployment runs them: each app's own TypeScript (the app file and what it imports from bench/apps)
// compiled to one JavaScript module in bench/.build/, its packages left as imports that Node resolves from
// bench/node_modules at run time. The runner starts these with plain `node`; a TypeScript loader such as tsx is a
// development convenience whose own costs (a hooks thread, a per-module toll on ES modules) are no framework's.
import { mkdirSync } from "node:fs";
import { build } from "esbuild";
import { appFile, DB_SERVERS, ROOT, SERVERS, type Server, type Suite } from "./servers.ts";

/** Where the compiled apps go; inside bench/ so that `import "fastify"` resolves from bench/node_modules. */
const BUILD_DIR = `${ROOT}bench/.build`;

/** Where the app is compiled to: `brisk.mjs` for the api suite, `db-brisk.mjs` for the db one. */
function builtName(server: Server, suite: Suite): string {
  return suite === "api" ? server : `db-${server}`;
}

export function builtFile(server: Server, suite: Suite = "api"): string {
  // One folder for all: the apps find examples/ relative to their module (bench/apps/common.ts).
  return `${BUILD_DIR}/${builtName(server, suite)}.mjs`;
}

let built: Promise<void> | undefined;

/** Compiles every app once per process (a fraction of a second); later calls wait for the same build. */
export function buildApps(): Promise<void> {
  built ??= (async () => {
    mkdirSync(BUILD_DIR, { recursive: true });
    await build({
      entryPoints: [
        ...SERVERS.map((server) => ({ in: appFile(server), out: builtName(server, "api") })),
        ...DB_SERVERS.map((server) => ({ in: appFile(server, "db"), out: builtName(server, "db") })),
      ],
      outdir: BUILD_DIR,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      packages: "external",
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "warning",
    });
  })();
  return built;
}
