import { HTTPException } from "../errors.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
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
