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
