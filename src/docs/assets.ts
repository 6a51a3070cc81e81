import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../internal/package-root.ts";

/** A file the docs pages load, served by brisk itself: the pages never reach for a CDN. */
export interface DocsAsset {
  readonly body: Uint8Array | string;
  readonly contentType: string;
}

const JS = "text/javascript; charset=utf-8";

/** Starts Swagger UI from the JSON configuration the page carries; a file, so the page needs no inline script. */
const SWAGGER_INIT = `"use strict";
(function () {
  var config = JSON.parse(document.getElementById("brisk-swagger-config").textContent);
  var initOAuth = config.initOAuth;
  var parameters = config.parameters;
  if (typeof parameters.oauth2RedirectUrl === "string" && parameters.oauth2RedirectUrl.charAt(0) === "/") {
    parameters.oauth2RedirectUrl = window.location.origin + parameters.oauth2RedirectUrl;
  }
  parameters.presets = [SwaggerUIBundle.presets.apis];
  var ui = SwaggerUIBundle(parameters);
  if (initOAuth) ui.initOAuth(initOAuth);
  window.ui = ui;
})();
`;

/** Starts ReDoc on the document URL the page carries. */
const REDOC_INIT = `"use strict";
(function () {
  var config = JSON.parse(document.getElementById("brisk-redoc-config").textContent);
  Redoc.init(config.specUrl, config.options, document.getElementById("redoc"));
})();
`;

/**
 * The prebuilt browser bundles live in the package's dist/ui/, copied there by the build (scripts/build.mjs) from
 * swagger-ui-dist and redoc, whose own dependencies an app would otherwise install.
 */
const uiFile = (name: string) => () => join(packageRoot(), "dist", "ui", name);

/**
 * ReDoc 2's sidebar footer always shows Redocly's logo from their CDN, with no option to turn it off: served with
 * an empty image in its place, the page makes no request to another host.
 */
const REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E";
const withoutRedocLogo = (text: string) => text.replace(REDOC_LOGO, EMPTY_SVG);

interface Source {
  readonly file?: () => string;
  readonly text?: string;
  /** Rewrites a text file as it is loaded. */
  readonly patch?: (text: string) => string;
  readonly type: string;
}

/** Asset name → where its bytes come from. */
const SOURCES: Readonly<Record<string, Source>> = {
  "swagger-ui-bundle.js": {
    file: uiFile("swagger-ui-bundle.js"),
    type: JS,
  },
  "swagger-ui.css": {
    file: uiFile("swagger-ui.css"),
    type: "text/css; charset=utf-8",
  },
  "oauth2-redirect.js": { file: uiFile("oauth2-redirect.js"), type: JS },
  "favicon-32x32.png": {
    file: uiFile("favicon-32x32.png"),
    type: "image/png",
  },
  "swagger-init.js": { text: SWAGGER_INIT, type: JS },
  "redoc.standalone.js": {
    file: uiFile("redoc.standalone.js"),
    patch: withoutRedocLogo,
    type: JS,
  },
  "redoc-init.js": { text: REDOC_INIT, type: JS },
};

/** The assets each page needs, as served under its URL. */
export const SWAGGER_ASSETS: readonly string[] = [
  "swagger-ui-bundle.js",
  "swagger-ui.css",
  "oauth2-redirect.js",
  "favicon-32x32.png",
  "swagger-init.js",
];
export const REDOC_ASSETS: readonly string[] = ["redoc.standalone.js", "redoc-init.js", "favicon-32x32.png"];

const loaded = new Map<string, DocsAsset>();

/** An asset by name, read from its package on first use (the bundles are megabytes: no cost until asked for). */
export function docsAsset(name: string): DocsAsset | undefined {
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  const source = Object.hasOwn(SOURCES, name) ? SOURCES[name] : undefined;
  if (source === undefined) return undefined;
  let body: string | Uint8Array;
  if (source.text !== undefined) body = source.text;
  else if (source.patch !== undefined) body = source.patch(readFileSync(source.file!(), "utf8"));
  else body = new Uint8Array(readFileSync(source.file!()));
  const asset: DocsAsset = { body, contentType: source.type };
  loaded.set(name, asset);
  return asset;
}
