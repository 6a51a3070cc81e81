// Serving behind a proxy, over real sockets: the root path, and X-Forwarded-* headers trusted only from the peers
// in the allow list. The peer address is chosen with `localAddress` (all of 127.0.0.0/8 is loopback on Linux).
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { App, isBriskError, type Listening, type ListenOptions, listen } from "../src/index.ts";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(url: string, headers: Record<string, string> = {}, from?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, ...(from === undefined ? {} : { localAddress: from }) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function makeApp(): App {
  const app = new App({ title: "Proxied" });
  app.get("/whoami", {}, ({ request }) => ({ url: request.url }));
  app.get("/items", { query: { limit: z.coerce.number().int().default(10) } }, ({ query }) => query);
  return app;
}

const servers: Listening[] = [];
after(() => Promise.all(servers.map((server) => server.close())));

async function serve(options: ListenOptions = {}): Promise<string> {
  const server = await listen(makeApp(), { port: 0, ...options });
  servers.push(server);
  return server.url;
}

const FORWARDED = {
  "x-forwarded-proto": "https",
  "x-forwarded-host": "api.example.com",
  "x-forwarded-for": "203.0.113.7",
  "x-forwarded-prefix": "/content/abc",
};

async function serversOf(url: string, headers: Record<string, string>, from?: string): Promise<unknown> {
  const answer = await get(`${url}/openapi.json`, headers, from);
  assert.equal(answer.status, 200);
  return (JSON.parse(answer.body) as { servers?: unknown }).servers;
}

describe("X-Forwarded-* from a trusted peer (the default trusts 127.0.0.1)", () => {
  test("the prefix becomes the root path of the document, the docs and request.url", async () => {
    const url = await serve();
    assert.deepEqual(await serversOf(url, FORWARDED), [{ url: "/content/abc" }]);
    const docs = await get(`${url}/docs`, FORWARDED);
    assert.match(docs.body, /"url":"\/content\/abc\/openapi.json"/);
    assert.match(docs.body, /src="\/content\/abc\/docs\/swagger-ui-bundle.js"/);
    const whoami = await get(`${url}/whoami`, FORWARDED);
    assert.deepEqual(JSON.parse(whoami.body), { url: "https://api.example.com/content/abc/whoami" });
  });

  test("without the headers nothing changes", async () => {
    const url = await serve();
    assert.equal(await serversOf(url, {}), undefined);
    const whoami = await get(`${url}/whoami`);
    assert.deepEqual(JSON.parse(whoami.body), { url: `${url}/whoami` });
  });

  test("a request that still carries the prefix is routed too", async () => {
    const url = await serve();
    const answer = await get(`${url}/content/abc/items?limit=3`, FORWARDED);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { limit: 3 });
  });

  test("the trailing-slash redirect keeps the prefix the proxy stripped", async () => {
    const url = await serve();
    const answer = await get(`${url}/items/?limit=2`, FORWARDED);
    assert.equal(answer.status, 307);
    assert.equal(answer.headers.location, "/content/abc/items?limit=2");
  });

  test("a malformed prefix is ignored, not trusted as a path", async () => {
    const url = await serve();
    for (const prefix of ["//evil.example", "/a/../b", "relative", "/x?y"]) {
      assert.equal(await serversOf(url, { "x-forwarded-prefix": prefix }), undefined, prefix);
    }
  });
});

describe("X-Forwarded-* from other peers is ignored", () => {
  test("a peer outside --forwarded-allow-ips changes nothing", async () => {
    const url = await serve({ forwardedAllowIps: "10.0.0.0/8" });
    assert.equal(await serversOf(url, FORWARDED), undefined);
    const whoami = await get(`${url}/whoami`, FORWARDED);
    assert.deepEqual(JSON.parse(whoami.body), { url: `${url}/whoami` });
  });

  test("only the listed address is trusted, also among loopback peers", async () => {
    const url = await serve({ forwardedAllowIps: "127.0.0.3" });
    assert.deepEqual(await serversOf(url, FORWARDED, "127.0.0.3"), [{ url: "/content/abc" }]);
    assert.equal(await serversOf(url, FORWARDED, "127.0.0.4"), undefined);
    assert.equal(await serversOf(url, FORWARDED, "127.0.0.1"), undefined);
  });

  test("a CIDR network and * work as allow lists", async () => {
    const network = await serve({ forwardedAllowIps: "127.0.0.0/30" });
    assert.deepEqual(await serversOf(network, FORWARDED, "127.0.0.2"), [{ url: "/content/abc" }]);
    assert.equal(await serversOf(network, FORWARDED, "127.0.0.9"), undefined);
    const everyone = await serve({ forwardedAllowIps: "*" });
    assert.deepEqual(await serversOf(everyone, FORWARDED, "127.0.0.9"), [{ url: "/content/abc" }]);
  });

  test("proxyHeaders: false ignores them even from a trusted peer", async () => {
    const url = await serve({ proxyHeaders: false });
    assert.equal(await serversOf(url, FORWARDED), undefined);
  });

  test("an invalid allow list is refused at startup", async () => {
    await assert.rejects(
      listen(makeApp(), { port: 0, forwardedAllowIps: "127.0.0.1,not-an-address" }),
      (error: unknown) =>
        isBriskError(error) && error.code === "BRISK_INVALID_OPTION" && /not-an-address/.test(error.message),
    );
  });
});

describe("a configured root path (--root-path)", () => {
  test("routes with and without it, and puts it in servers and the docs", async () => {
    const url = await serve({ rootPath: "/content/abc/" });
    assert.equal((await get(`${url}/items`)).status, 200);
    assert.equal((await get(`${url}/content/abc/items`)).status, 200);
    assert.equal((await get(`${url}/content/abcdef/items`)).status, 404);
    assert.deepEqual(await serversOf(url, {}), [{ url: "/content/abc" }]);
    const redoc = await get(`${url}/redoc`);
    assert.match(redoc.body, /"specUrl":"\/content\/abc\/openapi.json"/);
    const redirect = await get(`${url}/content/abc/items/`);
    assert.equal(redirect.headers.location, "/content/abc/items");
  });

  test("a trusted X-Forwarded-Prefix takes precedence", async () => {
    const url = await serve({ rootPath: "/content/abc" });
    assert.deepEqual(await serversOf(url, { "x-forwarded-prefix": "/other" }), [{ url: "/other" }]);
  });
});
