import { createRequire } from "node:module";
import { dirname } from "node:path";

let root: string | undefined;

/**
 * The directory of brisk's own package.json, where bin/, docs/ and dist/ui/ are: found through the package's name
 * (a package may import itself by name), so that it is the same from src/ in this repository and from the bundled
 * dist/ of an installed copy.
 */
export function packageRoot(): string {
  root ??= dirname(createRequire(import.meta.url).resolve("briskjs/package.json"));
  return root;
}
