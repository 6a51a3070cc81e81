// Telling a web Response apart from brisk's plain responses without loading Node's fetch implementation.

/**
 * Whether a value is a web `Response`. Node defines the `Response` global lazily: its first read loads the fetch
 * implementation (undici, with the TLS, HTTP/2 and web streams modules it needs), about 8 MB of memory that an app
 * answering plain JSON never uses. A plain object or an array, which is what handlers and brisk's own plain
 * responses are, cannot be a Response, so it is answered without reading the global.
 */
export function isWebResponse(value: unknown): value is Response {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === Array.prototype || prototype === null) return false;
  return value instanceof Response;
}
