// The one parser of media types (RFC 9110 §8.3.1): every part of brisk that reads a Content-Type (JSON bodies,
// forms, multipart, compression) goes through it, so none of them can disagree with another about what a request
// declared. It is a single linear scan over a length-capped value, with no regular expression, and it fails closed:
// anything outside the grammar is "no media type", which a body reader answers with 415.

/** The longest Content-Type value brisk parses; longer ones are refused rather than scanned. */
export const MAX_MEDIA_TYPE_LENGTH = 1024;

/** A parsed media type: the essence lower-cased, parameter names lower-cased, values as sent (unquoted). */
export interface MediaType {
  readonly type: string;
  readonly subtype: string;
  /** `type/subtype`. */
  readonly essence: string;
  readonly parameters: ReadonlyMap<string, string>;
}

// tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", digits and letters.
const TOKEN = new Uint8Array(128);
for (const char of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[char.charCodeAt(0)] = 1;
}

const isToken = (code: number) => code < 128 && TOKEN[code] === 1;
const isSpace = (code: number) => code === 0x20 || code === 0x09;
/** qdtext: HTAB, SP, VCHAR except `"` and `\`, and obs-text. */
const isQuotedText = (code: number) =>
  code === 0x09 ||
  code === 0x20 ||
  code === 0x21 ||
  (code >= 0x23 && code <= 0x7e && code !== 0x5c) ||
  (code >= 0x80 && code <= 0xff);
/** What may follow `\` in a quoted-pair: HTAB, SP, VCHAR, obs-text. */
const isEscapable = (code: number) =>
  code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);

/** The index after a run of tchar from `start`. */
function scanToken(text: string, start: number): number {
  let index = start;
  while (index < text.length && isToken(text.charCodeAt(index))) index++;
  return index;
}

function skipSpace(text: string, start: number): number {
  let index = start;
  while (index < text.length && isSpace(text.charCodeAt(index))) index++;
  return index;
}

const NO_PARAMETERS: ReadonlyMap<string, string> = new Map();
const JSON_TYPE: MediaType = {
  type: "application",
  subtype: "json",
  essence: "application/json",
  parameters: NO_PARAMETERS,
};

/**
 * Parses a Content-Type value. Undefined when absent, longer than {@link MAX_MEDIA_TYPE_LENGTH}, or not in the
 * grammar: a token type and subtype, then `; name=value` parameters whose values are tokens or quoted strings.
 * A parameter named twice is refused too (two `boundary` or `charset` values would leave the choice to whichever
 * reader comes next).
 */
export function parseMediaType(value: string | undefined): MediaType | undefined {
  if (value === undefined || value.length > MAX_MEDIA_TYPE_LENGTH) return undefined;
  // Nearly every JSON request says exactly this.
  if (value === "application/json") return JSON_TYPE;
  let index = skipSpace(value, 0);
  const typeEnd = scanToken(value, index);
  if (typeEnd === index || value.charCodeAt(typeEnd) !== 0x2f /* / */) return undefined;
  const subtypeEnd = scanToken(value, typeEnd + 1);
  if (subtypeEnd === typeEnd + 1) return undefined;
  const type = value.slice(index, typeEnd).toLowerCase();
  const subtype = value.slice(typeEnd + 1, subtypeEnd).toLowerCase();
  let parameters: Map<string, string> | undefined;
  index = skipSpace(value, subtypeEnd);
  while (index < value.length) {
    if (value.charCodeAt(index) !== 0x3b /* ; */) return undefined;
    index = skipSpace(value, index + 1);
    // An empty parameter ("a/b;;c=d", or a trailing ";") is allowed by the grammar.
    if (index === value.length || value.charCodeAt(index) === 0x3b) continue;
    const nameEnd = scanToken(value, index);
    if (nameEnd === index || value.charCodeAt(nameEnd) !== 0x3d /* = */) return undefined;
    const name = value.slice(index, nameEnd).toLowerCase();
    let parameter: string;
    index = nameEnd + 1;
    if (value.charCodeAt(index) === 0x22 /* " */) {
      parameter = "";
      index++;
      for (;;) {
        if (index >= value.length) return undefined;
        const code = value.charCodeAt(index);
        if (code === 0x22) break;
        if (code === 0x5c /* \ */) {
          const escaped = value.charCodeAt(index + 1);
          if (!isEscapable(escaped)) return undefined;
          parameter += value[index + 1];
          index += 2;
        } else if (isQuotedText(code)) {
          parameter += value[index];
          index++;
        } else return undefined;
      }
      index++;
    } else {
      const valueEnd = scanToken(value, index);
      if (valueEnd === index) return undefined;
      parameter = value.slice(index, valueEnd);
      index = valueEnd;
    }
    parameters ??= new Map();
    if (parameters.has(name)) return undefined;
    parameters.set(name, parameter);
    index = skipSpace(value, index);
  }
  return { type, subtype, essence: `${type}/${subtype}`, parameters: parameters ?? NO_PARAMETERS };
}

/** `application/json` or any `application/*+json`. */
export function isJsonMediaType(media: MediaType | undefined): boolean {
  return (
    media !== undefined &&
    media.type === "application" &&
    (media.subtype === "json" || media.subtype.endsWith("+json"))
  );
}

/** Whether a media type's text is UTF-8: no charset parameter (JSON and forms are UTF-8), or `utf-8` said so. */
export function isUtf8(media: MediaType): boolean {
  const charset = media.parameters.get("charset")?.toLowerCase();
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}
