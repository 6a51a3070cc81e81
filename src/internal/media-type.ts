/** The longest Content-Type value brisk parses; longer ones are refused rather than scanned. */
const MAX_LENGTH = 1024;
// RFC 9110 §8.3.1: type "/" subtype, both tokens, then optional parameters.
const ESSENCE = /^[\t ]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)[\t ]*(?:;|$)/;

/** A media type's essence (`type/subtype`), lower-cased. */
export interface MediaType {
  readonly type: string;
  readonly subtype: string;
}

/** Parses the essence of a Content-Type value; undefined when absent, malformed or too long. */
export function parseMediaType(value: string | undefined): MediaType | undefined {
  if (value === undefined || value.length > MAX_LENGTH) return undefined;
  const match = ESSENCE.exec(value);
  if (match === null) return undefined;
  return { type: match[1]!.toLowerCase(), subtype: match[2]!.toLowerCase() };
}

/** `application/json` or any `application/*+json`, compared exactly and case-insensitively. */
export function isJsonMediaType(value: string | undefined): boolean {
  const media = parseMediaType(value);
  return (
    media !== undefined &&
    media.type === "application" &&
    (media.subtype === "json" || media.subtype.endsWith("+json"))
  );
}
