// The fast lane's reading of a request head (src/adapters/request-head.ts): what it takes, what it waits for, and
// what it leaves to Node's parser. In process, on bytes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LANE_BODY_BYTES, type LaneRequest, readRequestHead } from "../src/adapters/request-head.ts";
import { resolveLimits } from "../src/limits.ts";

const limits = resolveLimits();

function read(text: string | Buffer, start = 0) {
  const bytes = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  return readRequestHead(bytes, start, limits);
}

function taken(text: string | Buffer, start = 0): LaneRequest {
  const reading = read(text, start);
  assert.equal(typeof reading, "object", `expected a request, got ${String(reading)}`);
  return reading as LaneRequest;
}

describe("readRequestHead: requests the lane takes", () => {
  test("a GET: method, target, lower-case names, values without surrounding spaces and tabs", () => {
    const text = "GET /items?limit=5 HTTP/1.1\r\nHost: example.com:8000\r\nX-Note: \t spaced out \t\r\n\r\n";
    const request = taken(text);
    assert.equal(request.method, "GET");
    assert.equal(request.target, "/items?limit=5");
    assert.deepEqual(request.headers, ["host", "example.com:8000", "x-note", "spaced out"]);
    assert.equal(request.body.length, 0);
    assert.equal(request.close, false);
    assert.equal(request.end, Buffer.byteLength(text));
  });

  test("a POST's body is exactly its Content-Length bytes, UTF-8 included", () => {
    const body = Buffer.from('{"name":"Grüße ✓"}');
    const head = Buffer.from(`POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    const request = taken(Buffer.concat([head, body, Buffer.from("GET / HTTP/1.1\r\n")]));
    assert.deepEqual(Buffer.from(request.body), body);
    assert.equal(request.end, head.length + body.length);
  });

  test("two requests back to back: the second is read from the first one's end", () => {
    const first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    const text = `${first}DELETE /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const one = taken(text);
    assert.equal(one.end, first.length);
    const two = taken(text, one.end);
    assert.equal(two.method, "DELETE");
    assert.equal(two.target, "/b");
    assert.equal(two.close, true);
    assert.equal(two.end, text.length);
  });

  test("Connection: keep-alive (any case) keeps the connection; close closes it", () => {
    assert.equal(taken("GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n").close, false);
    assert.equal(taken("GET / HTTP/1.1\r\nHost: x\r\nconnection: CLOSE\r\n\r\n").close, true);
  });

  test("a body of exactly LANE_BODY_BYTES is taken", () => {
    const body = "a".repeat(LANE_BODY_BYTES);
    const request = taken(`PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(request.body.length, LANE_BODY_BYTES);
  });
});

describe("readRequestHead: partial requests wait for more bytes", () => {
  test("a head without its blank line yet", () => {
    assert.equal(read("GET / HTTP/1.1\r\nHost: x\r\n"), "partial");
    assert.equal(read("GET / HTTP/1.1\r\nHost: x\r\n\r"), "partial");
  });

  test("a body not all there", () => {
    assert.equal(read("POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"), "partial");
  });
});

describe("readRequestHead: what is left to Node", () => {
  const many = Array.from({ length: limits.headerCount + 1 }, (_, index) => `X-${index}: v`).join("\r\n");
  const cases: readonly (readonly [string, string])[] = [
    ["HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n"],
    ["an HTTP version that does not exist", "GET / HTTP/1.7\r\nHost: x\r\n\r\n"],
    ["an absolute-form target", "GET http://x/items HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["the asterisk target", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["an unknown method", "SMUGGLE /items HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
    [
      "Content-Length and Transfer-Encoding",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["two Content-Lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na"],
    ["a signed Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na"],
    ["a hex Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x1\r\n\r\na"],
    ["a Content-Length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\na"],
    ["a Content-Length with a space inside", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 0\r\n\r\na"],
    [
      "a Content-Length over LANE_BODY_BYTES",
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LANE_BODY_BYTES + 1}\r\n\r\n`,
    ],
    ["Upgrade", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"],
    ["Connection: upgrade", "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n"],
    ["Expect", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"],
    ["no Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n"],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n"],
    ["a Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"],
    ["a header name given twice", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n"],
    ["an obs-folded line", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"],
    ["a space before the colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n"],
    ["NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"],
    ["a bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"],
    ["a bare LF in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n"],
    ["a byte past ASCII in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\xe9\r\n\r\n"],
    ["a control character in the target", "GET /a\x1bb HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a byte past ASCII in the target", "GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["header lines ended by LF only", "GET / HTTP/1.1\nHost: x\n\r\n\r\n"],
    ["more header fields than headerCount", `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`],
    [
      "a head longer than headerBytes",
      `GET / HTTP/1.1\r\nHost: x\r\nX-A: ${"a".repeat(limits.headerBytes)}\r\n\r\n`,
    ],
    [
      "a head longer than headerBytes whose blank line has not arrived",
      `GET / HTTP/1.1\r\nHost: x\r\nX-A: ${"a".repeat(limits.headerBytes)}`,
    ],
    ["a target longer than urlBytes", `GET /${"a".repeat(limits.urlBytes)} HTTP/1.1\r\nHost: x\r\n\r\n`],
  ];
  for (const [what, text] of cases) {
    test(what, () => {
      assert.equal(read(text), "other");
    });
  }
});

describe("readRequestHead: more of what the lane takes", () => {
  for (const method of ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    test(`the method ${method}`, () => {
      assert.equal(taken(`${method} /x HTTP/1.1\r\nHost: x\r\n\r\n`).method, method);
    });
  }

  test("an empty header value is kept as empty; a tab inside a value is kept", () => {
    const request = taken("GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n");
    assert.deepEqual(request.headers, ["host", "x", "x-empty", "", "x-tab", "a\tb"]);
  });

  test("a Host that is an IPv6 literal with a port", () => {
    assert.deepEqual(taken("GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n").headers, ["host", "[::1]:8000"]);
  });

  test("Content-Length: 0 is an empty body, and the next request starts right after the head", () => {
    const first = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    const request = taken(`${first}GET /y HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(request.body.length, 0);
    assert.equal(request.end, first.length);
  });

  test("Content-Length with spaces around it", () => {
    const request = taken("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: \t3 \r\n\r\nabc");
    assert.equal(request.body.toString("latin1"), "abc");
  });

  test("a second request read from the first one's end does not include the first one's bytes", () => {
    const first = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nGET ";
    const second = "GET /b HTTP/1.1\r\nHost: y\r\n\r\n";
    const one = taken(first + second);
    assert.equal(one.body.toString("latin1"), "GET ");
    const two = taken(first + second, one.end);
    assert.equal(two.target, "/b");
    assert.deepEqual(two.headers, ["host", "y"]);
    assert.equal(two.end, first.length + second.length);
  });
});

describe("readRequestHead: the limits, at and just past each", () => {
  // Small limits, so that the boundaries are plain to see; the reader must use the limits it is given.
  const small = resolveLimits({ headerCount: 3, urlBytes: 10, headerBytes: 100 });
  const readSmall = (text: string, start = 0) => readRequestHead(Buffer.from(text, "latin1"), start, small);

  test("headerCount fields are taken (Host counts); one more is Node's", () => {
    const fields = (count: number) =>
      Array.from({ length: count }, (_, index) => `X-${index}: v\r\n`).join("");
    assert.equal(typeof readSmall(`GET / HTTP/1.1\r\nHost: x\r\n${fields(2)}\r\n`), "object");
    assert.equal(readSmall(`GET / HTTP/1.1\r\nHost: x\r\n${fields(3)}\r\n`), "other");
  });

  test("a target of urlBytes is taken; one byte more is Node's", () => {
    assert.equal(typeof readSmall(`GET /${"a".repeat(9)} HTTP/1.1\r\nHost: x\r\n\r\n`), "object");
    assert.equal(readSmall(`GET /${"a".repeat(10)} HTTP/1.1\r\nHost: x\r\n\r\n`), "other");
  });

  test("a head of headerBytes (blank line included) is taken; one byte more is Node's", () => {
    const head = (bytes: number) => {
      const bare = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n";
      return bare.replace("X-Pad: ", `X-Pad: ${"p".repeat(bytes - bare.length)}`);
    };
    assert.equal(head(100).length, 100);
    assert.equal(typeof readSmall(head(100)), "object");
    assert.equal(readSmall(head(101)), "other");
  });

  test("a head without its blank line yet: partial up to headerBytes, Node's past it", () => {
    const start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    assert.equal(readSmall(start + "p".repeat(100 - start.length)), "partial");
    assert.equal(readSmall(start + "p".repeat(101 - start.length)), "other");
  });

  test("the head limit counts from where the request starts, not from the start of the buffer", () => {
    const first = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n${"b".repeat(60)}`;
    const second = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const one = readSmall(first + second);
    assert.equal(typeof one, "object");
    assert.equal(typeof readSmall(first + second, (one as LaneRequest).end), "object");
    assert.equal(readSmall(first + second.slice(0, 20), (one as LaneRequest).end), "partial");
  });
});

describe("readRequestHead: more partial requests", () => {
  test("nothing at all yet", () => {
    assert.equal(read(""), "partial");
  });

  test("the second of two requests, not all there, read from the first one's end", () => {
    const first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    const one = taken(`${first}GET /b HTTP/1.1\r\nHo`);
    assert.equal(read(`${first}GET /b HTTP/1.1\r\nHo`, one.end), "partial");
  });

  test("a body of LANE_BODY_BYTES one byte short", () => {
    const head = `POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${LANE_BODY_BYTES}\r\n\r\n`;
    assert.equal(read(head + "a".repeat(LANE_BODY_BYTES - 1)), "partial");
  });

  test("a head whose lines all end in a bare LF is never taken (the lane hands the connection to Node either way)", () => {
    // No CR LF CR LF ever comes: "partial" until headerBytes, then "other"; neither is a request the lane answers.
    assert.equal(typeof read("GET / HTTP/1.1\nHost: x\n\n"), "string");
    assert.equal(read(`GET / HTTP/1.1\nHost: x\nX-A: ${"a".repeat(limits.headerBytes)}\n\n`), "other");
  });
});

describe("readRequestHead: more of what is left to Node", () => {
  const cases: readonly (readonly [string, string])[] = [
    ["Transfer-Encoding: identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"],
    [
      "Transfer-Encoding: gzip, chunked",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    ],
    [
      "a lower-case transfer-encoding",
      "POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    [
      "Transfer-Encoding before Content-Length",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    ],
    [
      "two Content-Lengths that disagree",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ],
    ["a negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\na"],
    ["an empty Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"],
    ["a Content-Length with a decimal point", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1.0\r\n\r\na"],
    ["a Content-Length of seven digits", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0000001\r\n\r\na"],
    ["TE", "GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n"],
    ["Trailer", "GET / HTTP/1.1\r\nHost: x\r\nTrailer: X-Sum\r\n\r\n"],
    ["HTTP2-Settings", "GET / HTTP/1.1\r\nHost: x\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"],
    ["Connection: keep-alive, close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n"],
    ["Connection naming another header", "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-A\r\n\r\n"],
    ["CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"],
    ["TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a mixed-case method", "Get / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n"],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"],
    ["HTTP/1.10", "GET / HTTP/1.10\r\nHost: x\r\n\r\n"],
    ["a space inside the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["two spaces after the method", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a tab between method and target", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a target that does not start with a slash", "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a byte 0x80 in the target", "GET /a\x80 HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a request line ended by a bare LF", "GET / HTTP/1.1\nHost: x\r\n\r\n"],
    ["a header line ended by a bare LF", "GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n"],
    ["an empty head", "\r\n\r\n"],
    ["a request line only", "GET / HTTP/1.1\r\n\r\n"],
    ["an empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n"],
    ["a Host with user info", "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n"],
    ["Host given twice in different case", "GET / HTTP/1.1\r\nHost: x\r\nhOST: x\r\n\r\n"],
    ["a header line without a colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A 1\r\n\r\n"],
    ["a header line with an empty name", "GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n"],
    ["a header name with a character outside tokens", "GET / HTTP/1.1\r\nHost: x\r\nX@A: 1\r\n\r\n"],
    ["a header name with a byte past ASCII", "GET / HTTP/1.1\r\nHost: x\r\nX-\xc4: 1\r\n\r\n"],
    ["an obs-folded line with a colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tX-B: 2\r\n\r\n"],
    ["a tab before the colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n\r\n"],
    ["a control character (0x01) in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"],
    ["DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n"],
    ["a byte 0xff in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: \xff\r\n\r\n"],
  ];
  for (const [what, text] of cases) {
    test(what, () => {
      assert.equal(read(text), "other");
    });
  }
});
