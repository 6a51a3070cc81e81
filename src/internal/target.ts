/**
 * Splits an HTTP request target into its raw path and query (without `?`), as both adapters need it. The text is
 * cut, not parsed by `new URL`, which would normalize the path. Absolute-form targets (`http://host/path`, RFC 9112
 * §3.2.2, and every web `Request` URL) are routed by their path; a fragment, which clients never send, is dropped.
 */
export function splitTarget(target: string): [path: string, search: string] {
  let rest = target;
  if (rest.charCodeAt(0) !== 47 /* "/" */) {
    const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
    if (origin !== null) rest = rest.slice(origin[0].length) || "/";
  }
  const hash = rest.indexOf("#");
  if (hash !== -1) rest = rest.slice(0, hash);
  const question = rest.indexOf("?");
  return question === -1 ? [rest, ""] : [rest.slice(0, question), rest.slice(question + 1)];
}
