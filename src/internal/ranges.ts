// Byte ranges (RFC 9110 §14): parsing a Range header against a representation's size.

/** An inclusive range of byte offsets. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * What a Range header asks of a representation: `undefined` when it is to be ignored (absent, another unit,
 * malformed, or more ranges than a server should serve), `"unsatisfiable"` (416) when no range overlaps the
 * content, or the ranges to send: in ascending order, with overlapping and adjacent ones merged, so that a client
 * cannot make the server send the same bytes many times over.
 */
export function parseRanges(
  header: string | undefined,
  size: number,
  maxRanges: number,
): readonly ByteRange[] | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=(.*)$/i.exec(header);
  if (match === null) return undefined;
  const specs = match[1]!
    .split(",")
    .map((spec) => spec.trim())
    .filter((spec) => spec !== "");
  if (specs.length === 0 || specs.length > maxRanges) return undefined;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    // Digits only, and few enough of them to stay exact as numbers.
    const parts = /^(\d{0,15})\s*-\s*(\d{0,15})$/.exec(spec);
    if (parts === null) return undefined;
    const [, first, last] = parts as unknown as [string, string, string];
    if (first === "" && last === "") return undefined;
    if (first === "") {
      // A suffix: the last N bytes.
      const length = Number(last);
      if (length > 0 && size > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(first);
    if (last !== "" && Number(last) < start) return undefined;
    const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
    if (start < size) ranges.push({ start, end });
  }
  if (ranges.length === 0) return "unsatisfiable";
  ranges.sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [ranges[0]!];
  for (const range of ranges.slice(1)) {
    const previous = merged[merged.length - 1]!;
    if (range.start <= previous.end + 1) {
      merged[merged.length - 1] = { start: previous.start, end: Math.max(previous.end, range.end) };
    } else merged.push(range);
  }
  return merged;
}
