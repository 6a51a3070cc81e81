// The Host header over a raw socket: Node passes a Host with a path in it, or two Host headers, through to the
// app; brisk refuses both (400) before any route, so that nothing builds a URL the router did not see.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { App, type Listening, listen } from "briskjs";

/** Sends raw bytes and returns what comes back until the server closes or a moment has passed. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (/\r\n\r\n/.test(received) && /content-length: (\d+)/i.test(received)) {
        const length = Number(/content-length: (\d+)/i.exec(received)![1]);
        if (received.length - received.indexOf("\r\n\r\n") - 4 >= length) socket.end();
      }
    });
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
  });
}

const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe("the Host header", () => {
  let server: Listening;
  let port = 0;
  let seen: string[] = [];
  before(async () => {
    const app = new App().get("/where", {}, ({ request }) => {
      seen.push(request.url);
      return { url: request.url };
    });
    server = await listen(app, { port: 0 });
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  for (const host of [
    "example.com",
    "example.com:8080",
    "127.0.0.1:1",
    "[::1]:8000",
    "[2001:db8::1]",
    "xn--bcher-kva.example",
    "a_b.local",
  ]) {
    test(`${host} is served`, async () => {
      seen = [];
      const response = await exchange(
        port,
        `GET /where HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(status(response), 200, response);
      assert.equal(seen.length, 1);
      assert.equal(new URL(seen[0]!).pathname, "/where");
    });
  }

  for (const [what, headers] of [
    ["a Host with a path", "Host: example.com/abc?x="],
    ["a Host with a user", "Host: user@example.com"],
    ["a Host with a space", "Host: exa mple.com"],
    ["a Host with a backslash", "Host: example.com\\evil"],
    ["a port that is not a number", "Host: example.com:http"],
    ["an empty Host", "Host: "],
    ["two Host headers", "Host: example.com\r\nHost: evil.example"],
    ["two equal Host headers", "Host: example.com\r\nHost: example.com"],
  ] as const) {
    test(`${what} is 400 and reaches no route`, async () => {
      seen = [];
      const response = await exchange(port, `GET /where HTTP/1.1\r\n${headers}\r\nConnection: close\r\n\r\n`);
      assert.equal(status(response), 400, response);
      assert.deepEqual(seen, []);
      // The server is still there.
      const ok = await exchange(
        port,
        "GET /where HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
      );
      assert.equal(status(ok), 200);
    });
  }

  test("HTTP/1.0 without a Host is served", async () => {
    const response = await exchange(port, "GET /where HTTP/1.0\r\n\r\n");
    assert.equal(status(response), 200, response);
  });
});
