/**
 * Splits an HTTP request target into its raw path and query (without `?`), as both adapters need it. The text is
 * cut, not parsed by `new URL`, which would normalize the path. Absolute-form targets (`http://host/path`, RFC 9112
 * §3.2.2, and every web `Request` URL) are routed by their path; a fragment, which clients never send, is dropped.
 */
export function splitTarget(target: string): [path: string, search: string] {
  let rest = target;
  if (rest.charCodeAt(0) !== 47 /* "/" */) {
    const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
    if (origin !== null) rest = rest.slice(origin[0].length);
  }
  const hash = rest.indexOf("#");
  if (hash !== -1) rest = rest.slice(0, hash);
  const question = rest.indexOf("?");
  const path = question === -1 ? rest : rest.slice(0, question);
  const search = question === -1 ? "" : rest.slice(question + 1);
  // An absolute-form target with an empty path (`http://host?q`) asks for "/" (RFC 9110 §4.2.3).
  return [path === "" ? "/" : path, search];
}
