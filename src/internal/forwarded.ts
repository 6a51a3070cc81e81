import { isIP } from "node:net";
import { BriskError } from "../errors.ts";

/** Which peers may set X-Forwarded-* headers. */
export interface TrustedProxies {
  /**
   * True when `address` (a peer or an X-Forwarded-For entry: IPv4, IPv6 or IPv4-mapped IPv6, optionally in
   * brackets, with a zone or a port) is trusted. An absent address is trusted only by `"*"`, as uvicorn trusts a
   * Unix-socket peer.
   */
  trusts(address: string | undefined): boolean;
  /** The list as given, for messages. */
  readonly text: string;
}

/** What a trusted proxy told us about the original request. */
export interface Forwarded {
  /** From X-Forwarded-Proto (`ws`/`wss` read as `http`/`https`, any case); undefined when absent or invalid. */
  readonly proto: "http" | "https" | undefined;
  /** The first entry of X-Forwarded-Host when it is a plain `host[:port]`; undefined otherwise. */
  readonly host: string | undefined;
  /** The client address from X-Forwarded-For (brackets and port removed); undefined when absent or not an IP. */
  readonly client: string | undefined;
  /** The first entry of X-Forwarded-Prefix as a path prefix without trailing slashes; undefined when absent or unsafe. */
  readonly prefix: string | undefined;
}

/** An address or network in one 128-bit space, IPv4 as its IPv4-mapped IPv6 form, so both spellings match. */
interface Network {
  readonly value: bigint;
  readonly bits: number;
}

const MAPPED = 0xffff_0000_0000n;
const PORT = /^:\d{1,5}$/;
const HOST = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?))(?::(\d{1,5}))?$/;
// RFC 3986 path characters: unreserved, sub-delims, ":", "@", percent-escapes. Anything else (space, controls,
// "?", "#", "\", non-ASCII) makes the prefix invalid rather than something to repair.
const PATH = /^(?:\/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)+$/;
// WHATWG URL parsing treats "%2e" as ".", so encoded dot segments would be resolved by clients too.
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?=\/|$)/i;
const MAX_HOST = 255;
const MAX_PREFIX = 1024;
const NONE: Forwarded = Object.freeze({
  proto: undefined,
  host: undefined,
  client: undefined,
  prefix: undefined,
});

/**
 * Parses uvicorn's `--forwarded-allow-ips`: a comma list of IPv4/IPv6 addresses and CIDR networks
 * (`"127.0.0.1,10.0.0.0/8,::1,fd00::/8"`), or `"*"` for every peer. Whitespace around entries is ignored. An
 * IPv4 entry also matches its IPv4-mapped IPv6 form (`::ffff:127.0.0.1`), as dual-stack sockets report it.
 */
export function parseTrustedProxies(text: string): TrustedProxies {
  const entries = text.split(",").map((entry) => entry.trim());
  const networks = entries.filter((entry) => entry !== "*").map((entry) => parseNetwork(entry, text));
  if (networks.length < entries.length) return { text, trusts: () => true };
  return {
    text,
    trusts(address) {
      const value = address === undefined ? undefined : addressValue(address);
      return value !== undefined && networks.some((network) => contains(network, value));
    },
  };
}

/**
 * Reads the X-Forwarded-* headers when `peer` (the socket's remote address) is trusted; otherwise all fields are
 * undefined, so an untrusted peer never influences anything. `header(name)` returns a lower-case header's value,
 * repeated headers joined with `", "`. Malformed values never throw: that field is undefined.
 */
export function readForwarded(
  header: (name: string) => string | undefined,
  peer: string | undefined,
  trusted: TrustedProxies,
): Forwarded {
  if (!trusted.trusts(peer)) return NONE;
  return {
    proto: toProto(header("x-forwarded-proto")),
    host: toHost(header("x-forwarded-host")),
    client: toClient(header("x-forwarded-for"), trusted),
    prefix: toPrefix(header("x-forwarded-prefix")),
  };
}

function parseNetwork(entry: string, text: string): Network {
  const invalid = (reason: string) =>
    new BriskError(
      "BRISK_INVALID_OPTION",
      `Trusted proxy entry ${JSON.stringify(entry)} in ${JSON.stringify(text)} ${reason}`,
    );
  const slash = entry.indexOf("/");
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = address.includes("%") ? 0 : isIP(address);
  if (family === 0) throw invalid('is not an IP address or CIDR network (e.g. "10.0.0.0/8"), nor "*"');
  const max = family === 4 ? 32 : 128;
  const prefix = slash === -1 ? String(max) : entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw invalid(`has a prefix length outside 0-${max}`);
  }
  const network = { value: toValue(address), bits: Number(prefix) + 128 - max };
  // Like Python's ip_network (which uvicorn uses), "10.0.0.1/8" is a mistake, not 10.0.0.0/8.
  if ((network.value & ((1n << BigInt(128 - network.bits)) - 1n)) !== 0n) {
    throw invalid("has host bits set; give the network's first address");
  }
  return network;
}

function contains(network: Network, value: bigint): boolean {
  const shift = BigInt(128 - network.bits);
  return value >> shift === network.value >> shift;
}

/** The address part of `text` (`"[::1]:80"` → `"::1"`, `"1.2.3.4:80"` → `"1.2.3.4"`), or undefined if not an IP. */
function bareAddress(text: string): string | undefined {
  let host = text.trim();
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    const rest = host.slice(close + 1);
    if (close === -1 || (rest !== "" && !PORT.test(rest))) return undefined;
    host = host.slice(1, close);
    return isIP(host) === 6 ? host : undefined;
  }
  const colon = host.indexOf(":");
  // One colon can only be IPv4 with a port; IPv6 always has two or more.
  if (colon !== -1 && colon === host.lastIndexOf(":")) {
    if (!PORT.test(host.slice(colon))) return undefined;
    host = host.slice(0, colon);
    return isIP(host) === 4 ? host : undefined;
  }
  return isIP(host) === 0 ? undefined : host;
}

function addressValue(text: string): bigint | undefined {
  const bare = bareAddress(text);
  return bare === undefined ? undefined : toValue(bare);
}

/** The 128-bit value of an address `isIP` accepted; a zone is ignored. */
function toValue(address: string): bigint {
  if (!address.includes(":"))
    return MAPPED | BigInt(ipv4Groups(address).reduce((sum, group) => sum * 65536 + group));
  const zone = address.indexOf("%");
  const text = zone === -1 ? address : address.slice(0, zone);
  const double = text.indexOf("::");
  const head = groups(double === -1 ? text : text.slice(0, double));
  const tail = double === -1 ? [] : groups(text.slice(double + 2));
  const zeros = new Array<number>(Math.max(0, 8 - head.length - tail.length)).fill(0);
  return [...head, ...zeros, ...tail].reduce((sum, group) => (sum << 16n) | BigInt(group), 0n);
}

function groups(text: string): number[] {
  if (text === "") return [];
  return text
    .split(":")
    .flatMap((group) => (group.includes(".") ? ipv4Groups(group) : [Number.parseInt(group, 16)]));
}

function ipv4Groups(address: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = address.split(".").map(Number);
  return [a * 256 + b, c * 256 + d];
}

function toProto(value: string | undefined): Forwarded["proto"] {
  // As uvicorn: one value only; a list ("https, http") is ambiguous, so it is ignored. Schemes are case-insensitive.
  switch (value?.trim().toLowerCase()) {
    case "http":
    case "ws":
      return "http";
    case "https":
    case "wss":
      return "https";
    default:
      return undefined;
  }
}

function toHost(value: string | undefined): string | undefined {
  const host = firstEntry(value);
  const match = host === undefined ? null : HOST.exec(host);
  if (match === null) return undefined;
  const [, ipv6, name, port] = match;
  if (ipv6 !== undefined && isIP(ipv6) !== 6) return undefined;
  if ((name ?? "").length > MAX_HOST || (port !== undefined && Number(port) > 65535)) return undefined;
  return host;
}

/**
 * uvicorn 0.35's choice: from the right, skip the trusted proxies; the first untrusted entry is the client. If all
 * are trusted (or the list is "*"), the leftmost is. Entries left of the client are the client's to forge, so a
 * malformed choice is not skipped but yields undefined.
 */
function toClient(value: string | undefined, trusted: TrustedProxies): string | undefined {
  if (value === undefined) return undefined;
  const entries = value.split(",");
  let chosen = entries[0]!;
  for (let index = entries.length - 1; index >= 0; index--) {
    if (!trusted.trusts(entries[index])) {
      chosen = entries[index]!;
      break;
    }
  }
  return bareAddress(chosen);
}

function toPrefix(value: string | undefined): string | undefined {
  const first = firstEntry(value);
  if (first === undefined || first.length > MAX_PREFIX || !PATH.test(first)) return undefined;
  const prefix = first.replace(/\/+$/, "");
  // "//host" would read as a scheme-relative URL wherever the prefix is joined into a link or redirect.
  if (prefix === "" || prefix.startsWith("//") || DOT_SEGMENT.test(prefix)) return undefined;
  return prefix;
}

function firstEntry(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const comma = value.indexOf(",");
  const first = (comma === -1 ? value : value.slice(0, comma)).trim();
  return first === "" ? undefined : first;
}
