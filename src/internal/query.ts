/** Every value of every key of a query string, in order (`?q=a&q=b` → `q: ["a", "b"]`). */
export type MultiMap = Map<string, string[]>;

/**
 * Parses a raw query string (without `?`) as HTML forms encode it, like `URLSearchParams` but without its
 * overhead: `+` is a space, percent-escapes are decoded (bad UTF-8 as U+FFFD), and a key without `=`
 * has the empty value, as Starlette keeps blank values.
 */
export function parseQuery(search: string): MultiMap {
  const map: MultiMap = new Map();
  let start = 0;
  // The next "=" at or after `start`, found once and reused while pairs without one go by: searching again for
  // every pair would scan the rest of the text each time (quadratic on "a&a&a&...").
  let equals = -1;
  while (start <= search.length) {
    let end = search.indexOf("&", start);
    if (end === -1) end = search.length;
    if (end > start) {
      if (equals !== search.length && equals < start) {
        equals = search.indexOf("=", start);
        if (equals === -1) equals = search.length;
      }
      const split = Math.min(equals, end);
      const key = decodeComponent(search.slice(start, split));
      const value = split === end ? "" : decodeComponent(search.slice(split + 1, end));
      const values = map.get(key);
      if (values === undefined) map.set(key, [value]);
      else values.push(value);
    }
    start = end + 1;
  }
  return map;
}

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

function decodeComponent(text: string): string {
  const spaced = text.includes("+") ? text.replace(/\+/g, " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return decodeLeniently(spaced);
  }
}

/** WHATWG percent-decoding, as URLSearchParams and Python's parse_qsl do it: bad UTF-8 becomes U+FFFD. */
function decodeLeniently(text: string): string {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const hex = text.charCodeAt(index) === 37 /* % */ ? text.slice(index + 1, index + 3) : "";
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      const point = text.codePointAt(index)!;
      bytes.push(...encoder.encode(String.fromCodePoint(point)));
      if (point > 0xffff) index++;
    }
  }
  return lenient.decode(Uint8Array.from(bytes));
}
