import { HTTPException } from "../errors.ts";

// ignoreBOM: an encoded U+FEFF is a character of the path like any other (a decoder stripping it would route
// `/admin%EF%BB%BF` to `/admin`).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;
const KEPT = /%2F|%25/gi;

/**
 * Decodes a request path once, for matching: `/caf%C3%A9` → `/café`. `%2F` and `%25` stay encoded, so an encoded
 * slash never becomes a separator and nothing is decoded twice; {@link decodeSegment} finishes a parameter's value.
 * Invalid UTF-8 is a 400.
 */
export function decodePath(raw: string): string {
  if (!raw.includes("%")) return raw;
  return raw.replace(ESCAPE_RUN, (run) => {
    let out = "";
    let pending: number[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      try {
        out += strictUtf8.decode(Uint8Array.from(pending));
      } catch {
        throw new HTTPException(400, "The request path is not valid percent-encoded UTF-8");
      }
      pending = [];
    };
    for (let index = 0; index < run.length; index += 3) {
      const byte = Number.parseInt(run.slice(index + 1, index + 3), 16);
      if (byte === 0x2f || byte === 0x25) {
        flush();
        out += byte === 0x2f ? "%2F" : "%25";
      } else {
        pending.push(byte);
      }
    }
    flush();
    return out;
  });
}

/** Finishes decoding a path parameter captured from a {@link decodePath} result. */
export function decodeSegment(text: string): string {
  return text.includes("%") ? text.replace(KEPT, (sequence) => (sequence === "%25" ? "%" : "/")) : text;
}

/**
 * Whether a raw request path has a dot segment (`.` or `..`, also percent-encoded as `%2e`). Clients resolve them
 * before sending (RFC 3986 §5.2.4), so only a hand-made request has one; brisk refuses it rather than resolving it,
 * so that no two parts of a server can resolve it differently.
 */
export function hasDotSegment(raw: string): boolean {
  if (!raw.includes("/.") && !raw.includes("%2e") && !raw.includes("%2E")) return false;
  for (const segment of raw.split("/")) {
    const dots = segment.length <= 6 ? segment.replace(/%2e/gi, ".") : segment;
    if (dots === "." || dots === "..") return true;
  }
  return false;
}
