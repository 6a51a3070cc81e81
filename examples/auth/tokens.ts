// Access tokens: `base64url(payload).base64url(HMAC-SHA256(payload))`, the payload `{"sub": username, "exp": unix
// seconds}`. A JWT without the header (whose `alg` field has been the source of JWT's best-known attacks): one
// algorithm, one key, fixed here.
import { createHmac, timingSafeEqual } from "node:crypto";
import { settings } from "./config.ts";

/** When to sign or check a token, in milliseconds since the epoch, and for how long it lasts. */
export interface TokenOptions {
  /** @default settings.tokenTtlSeconds (env `TOKEN_TTL_SECONDS`, 30 minutes) */
  readonly ttlSeconds?: number;
  /** @default Date.now() */
  readonly now?: number;
  /** @default settings.secret (env `AUTH_SECRET`) */
  readonly secret?: string;
}

function sign(payload: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(payload).digest();
}

/** A token for `username`, valid for `ttlSeconds` from `now`. */
export function createToken(username: string, options: TokenOptions = {}): string {
  const now = options.now ?? Date.now();
  const exp = Math.floor(now / 1000) + (options.ttlSeconds ?? settings.tokenTtlSeconds);
  const payload = Buffer.from(JSON.stringify({ sub: username, exp })).toString("base64url");
  return `${payload}.${sign(payload, options.secret ?? settings.secret).toString("base64url")}`;
}

const SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

/** The username in `token`, or undefined when it is malformed, its signature is wrong, or it has expired. */
export function verifyToken(
  token: string,
  options: Omit<TokenOptions, "ttlSeconds"> = {},
): string | undefined {
  const match = SHAPE.exec(token);
  if (match === null) return undefined;
  const [, payload = "", signature = ""] = match;
  // The signature is checked before the payload is even parsed, and in constant time: comparing byte by byte and
  // stopping at the first difference would tell an attacker how much of a forged signature is right. The text is
  // compared rather than the decoded bytes, because the last of 43 base64url characters carries 2 unused bits:
  // decoding would accept four spellings of one signature.
  const expected = Buffer.from(sign(payload, options.secret ?? settings.secret).toString("base64url"));
  if (!timingSafeEqual(Buffer.from(signature), expected)) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof claims !== "object" || claims === null) return undefined;
  const { sub, exp } = claims as { sub?: unknown; exp?: unknown };
  if (typeof sub !== "string" || typeof exp !== "number") return undefined;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  return now < exp ? sub : undefined;
}
