// Characters JSON must escape, and lone surrogates (JSON.stringify escapes those too).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * A string as JSON text, equal to `JSON.stringify(text)`: short strings with nothing to escape are quoted
 * directly, which is about a third cheaper than the call.
 */
export function quote(text: string): string {
  return text.length < 42 && !NEEDS_ESCAPE.test(text) ? `"${text}"` : JSON.stringify(text);
}
