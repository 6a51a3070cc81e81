import type { AppOptions } from "../app.ts";
import { type CompiledRoute, internalRoute } from "../compile/plan.ts";
import type { PlainResponse } from "../exchange.ts";
import type { OpenApiDocument } from "../openapi/document.ts";
import { docsAsset, REDOC_ASSETS, SWAGGER_ASSETS } from "./assets.ts";
import { oauth2RedirectHtml, redocHtml, swaggerUiHtml } from "./pages.ts";

/** The App settings the docs endpoints read. */
export type DocsSettings = Pick<
  AppOptions,
  | "title"
  | "openapiUrl"
  | "docsUrl"
  | "redocUrl"
  | "swaggerUiOauth2RedirectUrl"
  | "swaggerUiParameters"
  | "swaggerUiInitOAuth"
  | "rootPath"
>;

const HTML = "text/html; charset=utf-8";

/** A GET (and HEAD) route of brisk's own: served, never documented. */
function systemRoute(
  path: string,
  answer: (root: string) => PlainResponse,
  defaultRoot: string,
): CompiledRoute {
  return internalRoute(["GET", "HEAD"], path, (incoming) => answer(incoming.rootPath ?? defaultRoot));
}

/**
 * The docs pages run only brisk's own scripts. Styles may be inline (both UIs set them at run time), images may
 * be data URLs, ReDoc's search runs in a blob worker, and "Try it out" may call any server the document lists.
 */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; worker-src 'self' blob:; connect-src *; object-src 'none'; base-uri 'self'; " +
  "frame-ancestors 'self'";

function page(body: string): PlainResponse {
  return {
    status: 200,
    headers: [
      ["content-type", HTML],
      ["content-security-policy", DOCS_CSP],
      ["x-content-type-options", "nosniff"],
    ],
    body,
  };
}

/**
 * `GET /openapi.json`, Swagger UI (with its OAuth2 redirect page) and ReDoc, each with its assets served from the
 * installed packages. Every URL a page contains starts with the request's root path, so the pages work behind a
 * proxy that serves the app under a prefix.
 */
export function docsRoutes(settings: DocsSettings, document: () => OpenApiDocument): CompiledRoute[] {
  const openapiUrl = settings.openapiUrl ?? "/openapi.json";
  const docsUrl = settings.docsUrl === undefined ? "/docs" : settings.docsUrl;
  const redocUrl = settings.redocUrl === undefined ? "/redoc" : settings.redocUrl;
  const oauth2Url =
    settings.swaggerUiOauth2RedirectUrl === undefined
      ? "/docs/oauth2-redirect"
      : settings.swaggerUiOauth2RedirectUrl;
  const title = settings.title ?? "brisk";
  const defaultRoot = settings.rootPath ?? "";
  const routes: CompiledRoute[] = [];
  const add = (path: string, answer: (root: string) => PlainResponse) =>
    routes.push(systemRoute(path, answer, defaultRoot));

  // The document text per root path; the proxies in front of one app use a handful at most.
  const texts = new Map<string, string>();
  add(openapiUrl, (root) => {
    let text = texts.get(root);
    if (text === undefined) {
      text = JSON.stringify(withRootServer(document(), root));
      if (texts.size < 32) texts.set(root, text);
    }
    return { status: 200, headers: [["content-type", "application/json"]], body: text };
  });

  const assetRoutes = (base: string, names: readonly string[]) => {
    for (const name of names) {
      add(`${base}/${name}`, () => {
        const asset = docsAsset(name)!;
        return {
          status: 200,
          headers: [
            ["content-type", asset.contentType],
            ["cache-control", "public, max-age=86400"],
          ],
          body: asset.body,
        };
      });
    }
  };
  if (docsUrl !== null) {
    add(docsUrl, (root) =>
      page(
        swaggerUiHtml({
          title,
          openapiUrl: root + openapiUrl,
          assetsUrl: root + docsUrl,
          oauth2RedirectUrl: oauth2Url === null ? undefined : root + oauth2Url,
          parameters: settings.swaggerUiParameters,
          initOAuth: settings.swaggerUiInitOAuth,
        }),
      ),
    );
    assetRoutes(docsUrl, SWAGGER_ASSETS);
    if (oauth2Url !== null) add(oauth2Url, (root) => page(oauth2RedirectHtml(root + docsUrl)));
  }
  if (redocUrl !== null) {
    add(redocUrl, (root) =>
      page(redocHtml({ title, openapiUrl: root + openapiUrl, assetsUrl: root + redocUrl })),
    );
    assetRoutes(redocUrl, REDOC_ASSETS);
  }
  return routes;
}

/** FastAPI's rule: with a root path, `servers` starts with it (unless already listed); the paths stay as they are. */
function withRootServer(document: OpenApiDocument, root: string): OpenApiDocument {
  if (root === "") return document;
  const servers = (document.servers as { url: string }[] | undefined) ?? [];
  if (servers.some((server) => server.url === root)) return document;
  const { openapi, info, servers: _listed, ...rest } = document;
  return { openapi, info, servers: [{ url: root }, ...servers], ...rest } as OpenApiDocument;
}
