import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type App, isApp } from "../app.ts";

const EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];
const TYPESCRIPT = /\.[cm]?ts$/;

type Importer = (url: string) => Promise<Record<string, unknown>>;

let typeScriptImporter: Promise<Importer> | undefined;

/**
 * Registers tsx, so that Node 20 can load TypeScript: its ESM hooks and its CommonJS ones (a folder without
 * "type": "module" makes .ts files CommonJS). Only a TypeScript entrypoint needs it; a compiled one runs on plain
 * Node, without tsx's hooks thread and its toll on every module loaded (together about 30 MB of memory).
 *
 * tsx is an optional peer of brisk, installed by the app that serves TypeScript: an app compiled to JavaScript
 * installs no TypeScript tooling. Without tsx, a Node that strips types itself (`process.features.typescript`,
 * Node 22.18 and 23.6 on) loads the module alone; any other says which package to install.
 *
 * The entrypoint is then imported by a module loaded after the registration: imported from brisk's own modules,
 * loaded before it, a CommonJS .ts module's named exports go missing (tsx 4 on Node 20).
 */
function typeScriptImport(file: string): Promise<Importer> {
  typeScriptImporter ??= (async () => {
    let esm: typeof import("tsx/esm/api");
    let commonJs: typeof import("tsx/cjs/api");
    try {
      [esm, commonJs] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw error;
      if (stripsTypes()) return (url: string) => import(url) as Promise<Record<string, unknown>>;
      throw new EntrypointError(
        `${file} is TypeScript, which Node ${process.version} cannot load by itself: install tsx ` +
          "(npm install --save-dev tsx) to serve it, or serve the compiled JavaScript",
      );
    }
    commonJs.register();
    esm.register();
    const importer = "data:text/javascript,export default (url) => import(url);";
    return ((await import(importer)) as { default: Importer }).default;
  })();
  return typeScriptImporter;
}

/** Whether this Node loads TypeScript itself, by stripping the types. */
function stripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

/** A `module:export` that cannot be loaded; the message is one line naming what was tried. */
export class EntrypointError extends Error {
  override name = "EntrypointError";
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** The files a module reference may name: as given, then with each extension; `pkg.app` also as `pkg/app`. */
function moduleCandidates(module: string, directory: string): string[] {
  const bases = [module];
  if (!module.includes("/") && !EXTENSIONS.some((ext) => module.endsWith(ext)) && module.includes(".")) {
    bases.push(module.replace(/\./g, "/"));
  }
  const candidates: string[] = [];
  for (const base of bases) {
    const absolute = resolve(directory, base);
    candidates.push(absolute, ...EXTENSIONS.map((ext) => absolute + ext));
  }
  return [...new Set(candidates)];
}

/**
 * Loads `module:export` the way uvicorn does: the module is a path relative to `directory` whose extension may be
 * left out; the export may be dotted (`container.app`); a missing export falls back to the default export. A
 * TypeScript module is loaded through tsx, a JavaScript one by Node alone.
 */
export async function loadEntrypoint(reference: string, directory: string = process.cwd()): Promise<App> {
  const colon = reference.indexOf(":");
  const module = colon === -1 ? reference : reference.slice(0, colon);
  const exportName = colon === -1 ? "" : reference.slice(colon + 1);
  if (module === "") {
    throw new EntrypointError(
      `Entrypoint "${reference}" must be in the form <module>:<export>, e.g. app.ts:app`,
    );
  }
  const candidates = moduleCandidates(module, directory);
  const file = candidates.find(isFile);
  if (file === undefined) {
    const tried = candidates.map((path) => path.replace(`${directory}/`, "")).join(", ");
    throw new EntrypointError(`Could not find module "${module}" (tried ${tried})`);
  }
  const url = pathToFileURL(file).href;
  const namespace = TYPESCRIPT.test(file)
    ? await (await typeScriptImport(file))(url)
    : ((await import(url)) as Record<string, unknown>);
  let value: unknown = namespace;
  for (const part of exportName === "" ? [] : exportName.split(".")) {
    value =
      typeof value === "object" && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  const shown = `${module}${exportName === "" ? "" : `:${exportName}`}`;
  if (exportName === "" || value === undefined) {
    const fallback = namespace.default ?? (exportName === "" ? namespace.app : undefined);
    if (fallback === undefined) {
      const wanted =
        exportName === ""
          ? 'a default export or an export named "app"'
          : `export "${exportName}" nor a default export`;
      throw new EntrypointError(`Module "${module}" has no ${wanted} (loading "${shown}" from ${file})`);
    }
    value = fallback;
  }
  if (!isApp(value)) {
    throw new EntrypointError(`"${shown}" is not a brisk App (got ${describe(value)})`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "object") return `an object of class ${value.constructor?.name ?? "Object"}`;
  return typeof value;
}
