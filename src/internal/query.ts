/** Every value of every key of a query string, in order (`?q=a&q=b` → `q: ["a", "b"]`). */
export type MultiMap = Map<string, string[]>;

/**
 * Parses a raw query string (without `?`) as HTML forms encode it: `+` is a space, percent-escapes are decoded,
 * and a key without `=` has the empty value, as Starlette keeps blank values.
 */
export function parseQuery(search: string): MultiMap {
  const map: MultiMap = new Map();
  if (search === "") return map;
  for (const [key, value] of new URLSearchParams(search)) {
    const values = map.get(key);
    if (values === undefined) map.set(key, [value]);
    else values.push(value);
  }
  return map;
}
