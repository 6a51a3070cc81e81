// The Host header's grammar, shared by both adapters: RFC 3986 host (an IP literal in brackets, or a reg-name / IPv4
// address of unreserved characters, sub-delims and percent-escapes) and an optional port. Linear: no part can
// match what another does. A Host with a path, a query or user info in it (`example.com/x?`, `a@b`) is refused, so
// that no URL built from it can disagree with the router about the path; so is an empty one (every client sends the
// host it connected to).
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{1,5})?$/;

/** The longest Host brisk accepts (a DNS name is at most 253 characters). */
const MAX_HOST_LENGTH = 1024;

/** Whether a Host header value is a valid host with an optional port. */
export function isValidHost(value: string): boolean {
  return value.length <= MAX_HOST_LENGTH && HOST.test(value);
}

/** The detail of the 400 for a Host that is missing where required, repeated or malformed. */
export const BAD_HOST_DETAIL = "Bad Request: invalid or repeated Host header";
