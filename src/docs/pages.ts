/** JSON for a `<script type="application/json">` element: nothing in it can close the element or open markup. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Text for HTML content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!,
  );
}

/** Swagger UI's defaults, as FastAPI sets them; `swaggerUiParameters` is merged over them. */
const SWAGGER_DEFAULTS = {
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // The default is a badge image from swagger.io: the page loads nothing from other hosts.
  validatorUrl: null,
};

/** What the Swagger UI page needs; URLs already carry the root path. */
export interface SwaggerPage {
  readonly title: string;
  readonly openapiUrl: string;
  /** Where the page's scripts, stylesheet and icon are served, without a trailing slash. */
  readonly assetsUrl: string;
  readonly oauth2RedirectUrl: string | undefined;
  readonly parameters: Readonly<Record<string, unknown>> | undefined;
  readonly initOAuth: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The Swagger UI page. Its configuration travels as JSON data and is started by a script file, so the page has no
 * inline script and works under a `script-src 'self'` Content-Security-Policy.
 */
export function swaggerUiHtml(page: SwaggerPage): string {
  const parameters = {
    url: page.openapiUrl,
    ...SWAGGER_DEFAULTS,
    ...(page.oauth2RedirectUrl === undefined ? {} : { oauth2RedirectUrl: page.oauth2RedirectUrl }),
    ...page.parameters,
  };
  const config = { parameters, initOAuth: page.initOAuth ?? null };
  const assets = escapeHtml(page.assetsUrl);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} - Swagger UI</title>
<link rel="stylesheet" href="${assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="${assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script id="brisk-swagger-config" type="application/json">${scriptJson(config)}</script>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script src="${assets}/swagger-init.js"></script>
</body>
</html>
`;
}

/** What the ReDoc page needs; URLs already carry the root path. */
export interface RedocPage {
  readonly title: string;
  readonly openapiUrl: string;
  readonly assetsUrl: string;
}

/** The ReDoc page; like Swagger UI's, it has no inline script and loads no web fonts. */
export function redocHtml(page: RedocPage): string {
  const assets = escapeHtml(page.assetsUrl);
  const config = { specUrl: page.openapiUrl, options: {} };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} - ReDoc</title>
<link rel="icon" type="image/png" href="${assets}/favicon-32x32.png">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<div id="redoc"></div>
<script id="brisk-redoc-config" type="application/json">${scriptJson(config)}</script>
<script src="${assets}/redoc.standalone.js"></script>
<script src="${assets}/redoc-init.js"></script>
</body>
</html>
`;
}

/** The page Swagger UI's OAuth2 flows return to; it hands the result back to the opener. */
export function oauth2RedirectHtml(assetsUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Swagger UI: OAuth2 Redirect</title></head>
<body>
<script src="${escapeHtml(assetsUrl)}/oauth2-redirect.js"></script>
</body>
</html>
`;
}
