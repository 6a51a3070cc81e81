import { BriskError } from "./errors.ts";

/**
 * What a server accepts from its clients, beyond `bodyLimit`. Nothing is unlimited by default; every value can be
 * set per app (`new App({ limits: { ... } })`) and applies where the app is served with `listen` or `brisk serve`.
 */
export interface Limits {
  /** Bytes of the request target (path and query): 414 beyond. @default 8192 */
  readonly urlBytes?: number;
  /** Bytes of the request line and headers together, line ends included: 431 beyond. @default 16384 */
  readonly headerBytes?: number;
  /** Header fields in one request: 431 beyond. @default 100 */
  readonly headerCount?: number;
  /** Milliseconds a client has to send the request line and headers: 408 after. @default 20000 */
  readonly headersTimeout?: number;
  /** Milliseconds a client has to send the whole request, body included: 408 after. @default 60000 */
  readonly requestTimeout?: number;
  /**
   * Milliseconds an idle keep-alive connection stays open; longer than the 60 s idle timeout of common load
   * balancers, so that they close first. @default 72000
   */
  readonly keepAliveTimeout?: number;
  /** Connections open at once: a request on one beyond this is answered 503 and its connection closed. @default 10000 */
  readonly connections?: number;
  /** Characters of one path parameter's value (decoded): 414 beyond. @default 256 */
  readonly paramLength?: number;
  /** Arrays and objects nested in a JSON body: 400 beyond. @default 64 */
  readonly jsonDepth?: number;
  /** Keys of one object in a JSON body: 400 beyond. @default 10000 */
  readonly jsonKeys?: number;
  /** Characters of one number in a JSON body: 400 beyond. @default 100 */
  readonly jsonNumberLength?: number;
  /** Decoded bytes per received byte of a compressed body (with `decompressRequests`): 413 beyond. @default 100 */
  readonly compressionRatio?: number;
  /**
   * Milliseconds a handler (with its dependencies) has to produce a response: after that the client gets 503 and
   * `context.signal` aborts, so that the handler can stop. A streamed body, once begun, is not cut by it.
   * @default 30000
   */
  readonly handlerTimeout?: number;
  /**
   * Milliseconds a response may wait for a client that does not read it before its connection is closed.
   * @default 30000
   */
  readonly sendTimeout?: number;
}

/** {@link Limits} with every default applied. */
export type ResolvedLimits = Required<Limits>;

export const DEFAULT_LIMITS: ResolvedLimits = {
  urlBytes: 8192,
  headerBytes: 16 * 1024,
  headerCount: 100,
  headersTimeout: 20_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 72_000,
  connections: 10_000,
  paramLength: 256,
  jsonDepth: 64,
  jsonKeys: 10_000,
  jsonNumberLength: 100,
  compressionRatio: 100,
  handlerTimeout: 30_000,
  sendTimeout: 30_000,
};

/** The limits with defaults applied, each checked to be a positive whole number. */
export function resolveLimits(limits: Limits = {}): ResolvedLimits {
  const given = Object.entries(limits).filter(([, value]) => value !== undefined);
  const resolved: ResolvedLimits = { ...DEFAULT_LIMITS, ...Object.fromEntries(given) };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new BriskError(
        "BRISK_INVALID_OPTION",
        `limits.${name} must be a positive whole number, got ${value}`,
      );
    }
  }
  if (resolved.headersTimeout > resolved.requestTimeout) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      "limits.headersTimeout must not be longer than limits.requestTimeout",
    );
  }
  return resolved;
}
