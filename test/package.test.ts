// brisk as a project outside this repository meets it: `npm pack`, then the tarball installed from the registry's
// point of view into temporary projects, then a strict type check, a build and `brisk serve` of the output.
//
// - a production install (`npm install briskjs zod --omit=dev` in an empty project): its size on disk and its
//   package count, printed and held to the limit, with no UI framework, no TypeScript tooling and no install
//   script among the packages;
// - a consumer on Node 20 (@types/node 20, as such a project pins it) whose app, written against the public API,
//   type-checks under the strictest settings with the lowest supported TypeScript, the latest 5.x and the
//   project's own 7, both as `nodenext` and as `bundler` resolves modules, and whose `@ts-expect-error` lines stay
//   errors; compiled by tsc, it is served by the package's `brisk` on plain Node.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("..", import.meta.url));
const FIXTURE = join(REPO, "test", "fixtures", "consumer");

/** What an app's production install of brisk may weigh on disk. */
const INSTALL_LIMIT_MB = 40;
const UI_FRAMEWORKS = ["react", "react-dom", "mobx", "mobx-react", "styled-components"];

/** The compilers a consumer may use: the lowest supported, the latest 5.x (tools/typescript-versions/), ours. */
const COMPILERS: Readonly<Record<string, string>> = {
  "TypeScript 5.5": join(REPO, "tools/typescript-versions/node_modules/typescript-5.5/bin/tsc"),
  "TypeScript 5.9": join(REPO, "tools/typescript-versions/node_modules/typescript-5.9/bin/tsc"),
  "TypeScript 7 (the project's)": join(REPO, "node_modules/typescript/bin/tsc"),
};
const CONFIGS = { nodenext: "tsconfig.json", bundler: "tsconfig.bundler.json" };

const root = mkdtempSync(join(tmpdir(), "brisk-package-"));
let tarball: string;
let packedFiles: string[];
/** An empty project with `briskjs zod` installed, production dependencies only. */
const production = join(root, "production");
/** The consumer app of test/fixtures/consumer/, on Node 20's types. */
const consumer = join(root, "consumer");

async function npm(cwd: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("npm", [...args, "--no-audit", "--no-fund"], {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

before(async () => {
  // `npm pack` runs the build (prepack), so the tarball is what `npm publish` would upload.
  const [packed] = JSON.parse(await npm(REPO, "pack", "--json", "--pack-destination", root)) as [
    { filename: string; files: { path: string }[] },
  ];
  tarball = join(root, packed.filename);
  packedFiles = packed.files.map((file) => file.path);

  cpSync(FIXTURE, consumer, { recursive: true });
  writeJson(join(consumer, "package.json"), { name: "consumer", private: true, type: "module" });
  mkdirSync(production);
  writeJson(join(production, "package.json"), { name: "production", private: true, type: "module" });
  // --prefer-offline: the registry's metadata from npm's cache when it has them, as a repeated install would.
  await Promise.all([
    npm(production, "install", tarball, "zod", "--omit=dev", "--prefer-offline"),
    npm(consumer, "install", tarball, "zod", "--prefer-offline").then(() =>
      npm(consumer, "install", "--save-dev", "@types/node@20", "--prefer-offline"),
    ),
  ]);
});

after(() => rmSync(root, { recursive: true, force: true }));

/** Bytes a directory takes on disk, as `du` counts them (allocated blocks, each hard link once). */
function diskUsage(directory: string, seen = new Set<number>()): number {
  let bytes = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const stat = lstatSync(path);
    if (seen.has(stat.ino)) continue;
    seen.add(stat.ino);
    bytes += stat.blocks * 512;
    if (entry.isDirectory()) bytes += diskUsage(path, seen);
  }
  return bytes;
}

interface InstalledPackage {
  readonly version?: string;
  readonly dev?: boolean;
  readonly hasInstallScript?: boolean;
}

/** The packages npm installed, by their path under the project (npm's hidden lockfile). */
function installedPackages(project: string): Map<string, InstalledPackage> {
  const lock = JSON.parse(readFileSync(join(project, "node_modules", ".package-lock.json"), "utf8")) as {
    packages: Record<string, InstalledPackage>;
  };
  return new Map(Object.entries(lock.packages).filter(([path]) => path.startsWith("node_modules/")));
}

const packageName = (path: string) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);

test("a production install of briskjs and zod is lean: size and packages within the limit, no UI framework, no TypeScript tooling, no install script", () => {
  const packages = installedPackages(production);
  const megabytes = diskUsage(join(production, "node_modules")) / 1024 / 1024;
  console.log(
    `npm install briskjs zod --omit=dev: ${packages.size} packages, ${megabytes.toFixed(1)} MB on disk ` +
      `(limit ${INSTALL_LIMIT_MB} MB)`,
  );
  assert.ok(megabytes <= INSTALL_LIMIT_MB, `${megabytes.toFixed(1)} MB is over ${INSTALL_LIMIT_MB} MB`);
  const names = [...packages.keys()].map(packageName);
  for (const framework of UI_FRAMEWORKS) assert.ok(!names.includes(framework), `${framework} is installed`);
  for (const tooling of ["typescript", "tsx", "esbuild"])
    assert.ok(!names.includes(tooling), `${tooling} is installed`);
  const withScripts = [...packages]
    .filter(([, info]) => info.hasInstallScript === true)
    .map(([path]) => path);
  assert.deepEqual(withScripts, [], "packages with install scripts");

  const manifest = JSON.parse(
    readFileSync(join(production, "node_modules/briskjs/package.json"), "utf8"),
  ) as {
    scripts?: Record<string, string>;
  };
  for (const script of ["preinstall", "install", "postinstall", "prepare"])
    assert.equal(manifest.scripts?.[script], undefined, `the package has a "${script}" script`);
});

test("the package carries declaration files for every entry point, with their maps, and no test or bench file", () => {
  for (const entry of ["dist/index.d.ts", "dist/testing.d.ts", "dist/index.d.ts.map", "dist/index.js.map"])
    assert.ok(packedFiles.includes(entry), `${entry} is not in the package`);
  assert.deepEqual(
    packedFiles.filter((path) => /^(test|bench|tools|scripts)\//.test(path)),
    [],
  );
  // Declarations import each other as .js, which every module resolution accepts; never as .ts.
  const tsImports = packedFiles
    .filter((path) => path.endsWith(".d.ts"))
    .filter((path) =>
      /from\s+["']\.{1,2}\/[^"']*\.ts["']/.test(
        readFileSync(join(production, "node_modules/briskjs", path), "utf8"),
      ),
    );
  assert.deepEqual(tsImports, []);
});

test("every file the package's README and docs link to is in the package", () => {
  const installed = join(production, "node_modules/briskjs");
  const documents = packedFiles.filter((path) => path === "README.md" || /^docs\/.*\.md$/.test(path));
  assert.ok(documents.includes("README.md") && documents.includes("docs/decisions.md"));
  const missing: string[] = [];
  for (const document of documents) {
    const text = readFileSync(join(installed, document), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!) || target!.startsWith("#")) continue;
      const path = target!.split("#")[0]!;
      if (!existsSync(resolve(installed, dirname(document), path))) missing.push(`${document} → ${target}`);
    }
  }
  assert.deepEqual(missing, []);
});

/** What `tsc -p config --noEmit` prints in `project`: nothing when the project type-checks. */
async function typeCheck(tsc: string, config: string, project: string): Promise<string> {
  const result = await run(process.execPath, [tsc, "-p", config, "--noEmit"], { cwd: project }).catch(
    (error: { stdout?: string; stderr?: string }) => error,
  );
  return `${result.stdout ?? ""}${result.stderr ?? ""}`;
}

for (const [compiler, tsc] of Object.entries(COMPILERS)) {
  for (const [resolution, config] of Object.entries(CONFIGS)) {
    test(`the consumer app type-checks with ${compiler}, ${resolution} resolution, strict settings and skipLibCheck off`, async () => {
      assert.equal(await typeCheck(tsc, config, consumer), "");
    });
  }
}

test("the production install's latest @types/node type-checks the consumer app too (TypeScript 7)", async () => {
  cpSync(join(FIXTURE, "src"), join(production, "src"), { recursive: true });
  cpSync(join(FIXTURE, "tsconfig.json"), join(production, "tsconfig.json"));
  assert.equal(await typeCheck(COMPILERS["TypeScript 7 (the project's)"]!, "tsconfig.json", production), "");
});

/** A line of `--log-format json`. */
interface LogEntry {
  readonly level?: string;
  readonly logger?: string;
  readonly message?: string;
  readonly error?: string;
}

/** Starts the consumer's `brisk`, and resolves with its address once it prints the JSON line that has it. */
function serve(args: readonly string[]): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(join(consumer, "node_modules/.bin/brisk"), args, { cwd: consumer });
  const lines: string[] = [];
  return new Promise((resolveStart, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const complete = buffered.split("\n");
      buffered = complete.pop()!;
      for (const line of complete) {
        lines.push(line);
        const url = /"url":"(http:[^"]+)"/.exec(line)?.[1];
        if (url !== undefined && line.includes("serving")) resolveStart({ child, url, lines });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) =>
      reject(new Error(`brisk exited with ${code}:\n${lines.join("\n")}${buffered}`)),
    );
  });
}

test("compiled by tsc, the consumer app is served by the package's brisk on plain Node, its log JSON throughout, its stack traces naming brisk's src/ files", async () => {
  await run(process.execPath, [COMPILERS["TypeScript 7 (the project's)"]!, "-p", "tsconfig.json"], {
    cwd: consumer,
  });
  assert.ok(
    !existsSync(join(consumer, "node_modules/tsx")),
    "tsx is not installed: nothing loads TypeScript",
  );
  const { child, url, lines } = await serve([
    "serve",
    "dist/app.js:app",
    "--port",
    "0",
    "--log-format",
    "json",
  ]);
  try {
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const created = await fetch(`${url}/items/`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer secret-token" },
      body: JSON.stringify({ name: "Hammer", price: 9.5 }),
    });
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { name: "Hammer", price: 9.5, tags: ["by:ada"], id: 1 });
    const invalid = await fetch(`${url}/items/`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer secret-token" },
      body: JSON.stringify({ name: "", price: 9.5 }),
    });
    assert.equal(invalid.status, 422);
    assert.equal((await fetch(`${url}/items/1`)).status, 200);
    assert.equal((await fetch(`${url}/items/boom`)).status, 500);
    // The docs pages' bundles come from the package itself.
    for (const asset of [
      "/docs/swagger-ui-bundle.js",
      "/docs/swagger-ui.css",
      "/redoc/redoc.standalone.js",
    ]) {
      const answer = await fetch(`${url}${asset}`);
      assert.equal(answer.status, 200, asset);
      assert.ok((await answer.arrayBuffer()).byteLength > 100_000, asset);
    }
  } finally {
    const exited = new Promise((resolveExit) => child.on("exit", resolveExit));
    child.kill("SIGTERM");
    await exited;
  }
  const entries = lines.filter((line) => line !== "").map((line) => JSON.parse(line) as LogEntry);
  assert.ok(entries.some((entry) => entry.logger === "brisk" && entry.message === "stopped"));
  const failure = entries.find((entry) => entry.level === "error");
  assert.ok(failure !== undefined, "the failing handler is logged");
  const stack = String(failure.error);
  assert.match(stack, /a handler that fails/);
  assert.match(stack, /node_modules\/briskjs\/src\/[\w/-]+\.ts:\d+:\d+/, "brisk's frames name its sources");
});

test("the package's brisk says its version, and what to install to serve TypeScript when Node cannot", async () => {
  const brisk = join(consumer, "node_modules/.bin/brisk");
  const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  const { stdout } = await run(brisk, ["--version"], { cwd: consumer });
  assert.equal(stdout, `brisk ${version} (briskjs) on Node ${process.version}\n`);

  const help = (await run(brisk, ["--help"], { cwd: consumer })).stdout;
  for (const [, path] of help.matchAll(/(node_modules\/briskjs\/\S+\.md)/g))
    assert.ok(existsSync(join(consumer, path!)), `the help names ${path}, which is missing`);
  assert.match(help, /node_modules\/briskjs\/docs\/decisions\.md/);

  if ((process.features as { typescript?: unknown }).typescript) return; // this Node loads TypeScript itself
  const served: { code?: number; stderr?: string } = await run(
    brisk,
    ["serve", "src/app.ts:app", "--port", "0"],
    {
      cwd: consumer,
    },
  ).then(
    () => ({ code: 0 }),
    (error: { code?: number; stderr?: string }) => error,
  );
  assert.equal(served.code, 1);
  assert.match(
    String(served.stderr),
    /src\/app\.ts is TypeScript.*install tsx \(npm install --save-dev tsx\)/,
  );
});

test("the consumer's own checks through briskjs/testing pass when compiled", async () => {
  const script = join(consumer, "check.mjs");
  writeFileSync(
    script,
    'import { check } from "./dist/app.test.js";\nconsole.log(JSON.stringify(await check()));\n',
  );
  const { stdout } = await run(process.execPath, [script], { cwd: consumer });
  assert.deepEqual(JSON.parse(stdout), [201, 200]);
});
