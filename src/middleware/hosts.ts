import { BriskError } from "../errors.ts";
import type { Middleware } from "../middleware.ts";
import { plainText } from "./headers.ts";

/** Options of {@link trustedHost}. */
export interface TrustedHostOptions {
  /**
   * Redirect `example.com` to `www.example.com` (307) when only the `www.` form is allowed.
   * @default true
   */
  readonly wwwRedirect?: boolean;
}

/**
 * Answers 400 `Invalid host header` to requests whose `Host` is not one of `hosts` (Starlette's
 * `TrustedHostMiddleware`), which guards against Host-header attacks such as poisoned password-reset links.
 * The port is ignored; `"*"` allows any host and `"*.example.com"` any subdomain of example.com (not example.com
 * itself). Hosts are compared case-insensitively. A `*` anywhere else, or an empty list, throws
 * `BRISK_INVALID_OPTION` at startup.
 *
 * @example
 * app.use(trustedHost(["example.com", "*.example.com"]));
 */
export function trustedHost(hosts: readonly string[], options: TrustedHostOptions = {}): Middleware {
  if (!Array.isArray(hosts) || hosts.length === 0) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      'trustedHost: give at least one allowed host (["*"] allows any); an empty list refuses every request',
    );
  }
  for (const pattern of hosts) {
    if (
      pattern.slice(1).includes("*") ||
      (pattern.startsWith("*") && pattern !== "*" && !pattern.startsWith("*."))
    ) {
      throw new BriskError(
        "BRISK_INVALID_OPTION",
        `trustedHost: ${JSON.stringify(pattern)} is not a valid host pattern; a wildcard must be the whole ` +
          'pattern ("*") or lead it as "*.example.com"',
      );
    }
  }
  if (hosts.includes("*")) return (_context, next) => next();
  const patterns = hosts.map((pattern) => pattern.toLowerCase());
  const wwwRedirect = options.wwwRedirect ?? true;

  return ({ request }, next) => {
    const header = request.headers.get("host") ?? "";
    const host = hostname(header).toLowerCase();
    let foundWww = false;
    for (const pattern of patterns) {
      if (host === pattern || (pattern.startsWith("*") && host.endsWith(pattern.slice(1)))) return next();
      if (`www.${host}` === pattern) foundWww = true;
    }
    if (foundWww && wwwRedirect) {
      const url = new URL(request.url);
      // Starlette rebuilds the URL from the Host header, port included, with "www." in front.
      const location = `${url.protocol}//www.${header}${url.pathname}${url.search}`;
      return new Response(null, { status: 307, headers: { location } });
    }
    return plainText(400, "Invalid host header");
  };
}

/** The host of a Host header without its port; an IPv6 literal loses its brackets. */
function hostname(header: string): string {
  if (header.startsWith("[")) {
    const end = header.indexOf("]");
    if (end === -1) return header;
    const rest = header.slice(end + 1);
    return rest === "" || rest.startsWith(":") ? header.slice(1, end) : header;
  }
  return header.split(":")[0] ?? "";
}

/**
 * Redirects plain-HTTP requests to HTTPS with 307 (which keeps the method and body), path and query kept and an
 * explicit `:80` or `:443` dropped (Starlette's `HTTPSRedirectMiddleware`). The scheme is the one of
 * `request.url`: behind a TLS-terminating proxy, brisk's Node adapter puts a trusted `X-Forwarded-Proto` there,
 * so requests that reached the proxy over HTTPS are not redirected again.
 *
 * @example
 * app.use(httpsRedirect());
 */
export function httpsRedirect(): Middleware {
  return ({ request }, next) => {
    const url = new URL(request.url);
    if (url.protocol !== "http:" && url.protocol !== "ws:") return next();
    const port = url.port;
    url.protocol = url.protocol === "http:" ? "https:" : "wss:";
    url.port = port === "80" || port === "443" ? "" : port;
    return new Response(null, { status: 307, headers: { location: url.href } });
  };
}
