// Installs the packages of the repository's tool folders, each pinned by its own lockfile: bench/ (the peers the
// bench and its smoke test in `npm test` start) and tools/openapi-client/ (openapi-typescript, which needs
// TypeScript 5 beside the project's 7). `npm test` runs it first, so that a fresh clone needs nothing but
// `npm install && npm test`; none of it is installed for a project that depends on brisk.
//
// Usage: node scripts/install-tools.mjs [folder ...]   (all of them by default)
// A folder installed since its lockfile last changed is left alone; `npm ci` installs the others.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

const FOLDERS = ["bench", "tools/openapi-client", "tools/typescript-versions"];

const asked = process.argv.slice(2);
for (const folder of asked) {
  if (!FOLDERS.includes(folder)) {
    console.error(`install-tools: unknown folder "${folder}" (known: ${FOLDERS.join(", ")})`);
    process.exit(2);
  }
}

/** Whether `folder`'s packages were installed after its lockfile was last written (npm writes the marker). */
function isCurrent(folder) {
  const marker = join(folder, "node_modules", ".package-lock.json");
  return (
    existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(folder, "package-lock.json")).mtimeMs
  );
}

for (const folder of asked.length > 0 ? asked : FOLDERS) {
  if (isCurrent(folder)) continue;
  console.error(`install-tools: installing ${folder}'s pinned packages (npm ci --prefix ${folder})`);
  const installed = spawnSync("npm", ["ci", "--prefix", folder, "--no-audit", "--no-fund"], {
    stdio: "inherit",
  });
  if (installed.status !== 0) {
    console.error(`install-tools: npm ci --prefix ${folder} failed`);
    process.exit(1);
  }
}
