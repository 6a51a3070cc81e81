// examples/auth through its front door, app.fetch: signing in, bearer tokens (expired, tampered, malformed),
// the admin API key, CORS, gzip, the per-request database session, and the OpenAPI document's security schemes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { afterEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { Validator } from "@seriousme/openapi-schema-validator";
import { dependency } from "briskjs";
import { app } from "../examples/auth/app.ts";
import { settings } from "../examples/auth/config.ts";
import { db, Session, sessionCounts } from "../examples/auth/database.ts";
import { hashPassword, verifyPassword } from "../examples/auth/passwords.ts";
import { createToken, verifyToken } from "../examples/auth/tokens.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const ALICE = { username: "alice", full_name: "Alice Liddell", email: "alice@example.com" };

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return app.fetch(new Request(`http://localhost${path}`, { headers }));
}

function postToken(fields: Record<string, string>): Promise<Response> {
  return app.fetch(
    new Request("http://localhost/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    }),
  );
}

async function signIn(username: string, password: string): Promise<string> {
  const response = await postToken({ username, password });
  assert.equal(response.status, 200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** The same text with the character at `index` replaced by another base64url character. */
function flip(text: string, index: number): string {
  const replacement = text[index] === "A" ? "B" : "A";
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

/** A token over any payload text, signed with the example's secret, as `createToken` would. */
function signed(payload: string): string {
  const encoded = Buffer.from(payload).toString("base64url");
  return `${encoded}.${createHmac("sha256", settings.secret).update(encoded).digest("base64url")}`;
}

async function assertCredentialsRejected(response: Response): Promise<void> {
  assert.equal(response.status, 401);
  assert.deepEqual(await response.json(), { detail: "Could not validate credentials" });
  assert.equal(response.headers.get("www-authenticate"), "Bearer");
}

/** Waits for the after-response work (the session's cleanup runs once the response is out). */
async function afterResponses(): Promise<void> {
  for (let turn = 0; turn < 1000 && sessionCounts.opened !== sessionCounts.closed; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("POST /token", () => {
  test("the right password gives a bearer token for the user", async () => {
    const response = await postToken({ username: "alice", password: "wonderland" });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { access_token: string; token_type: string };
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "token_type"]);
    assert.equal(body.token_type, "bearer");
    assert.equal(verifyToken(body.access_token), "alice");
  });

  test("Swagger UI's form (grant_type, empty scope) is accepted", async () => {
    const response = await postToken({
      grant_type: "password",
      username: "bob",
      password: "builder",
      scope: "",
    });
    assert.equal(response.status, 200);
    assert.equal(verifyToken(((await response.json()) as { access_token: string }).access_token), "bob");
  });

  for (const [what, username, password] of [
    ["a wrong password", "alice", "looking-glass"],
    ["an unknown user", "mallory", "wonderland"],
    ["another user's password", "bob", "wonderland"],
  ] as const) {
    test(`${what} is 401 with WWW-Authenticate: Bearer`, async () => {
      const response = await postToken({ username, password });
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { detail: "Incorrect username or password" });
      assert.equal(response.headers.get("www-authenticate"), "Bearer");
    });
  }

  test("an empty password counts as missing, as in FastAPI's HTML forms: 422", async () => {
    const response = await postToken({ username: "alice", password: "" });
    assert.equal(response.status, 422);
    assert.deepEqual((await response.json()).detail, [
      { type: "missing", loc: ["body", "password"], msg: "Field required", input: null },
    ]);
  });

  test("a missing field is a 422 naming it", async () => {
    const response = await postToken({ username: "alice" });
    assert.equal(response.status, 422);
    const body = (await response.json()) as { detail: { loc: unknown[] }[] };
    assert.deepEqual(
      body.detail.map((issue) => issue.loc),
      [["body", "password"]],
    );
  });
});

describe("GET /users/me", () => {
  test("a valid token gives the user, without the password hash", async () => {
    const response = await get("/users/me", bearer(await signIn("alice", "wonderland")));
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), ALICE);
    assert.doesNotMatch(text, /password|scrypt/);
  });

  test("a token made by createToken works like one from /token", async () => {
    const response = await get("/users/me", bearer(createToken("alice")));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), ALICE);
  });

  test("without a token: 401 Not authenticated, WWW-Authenticate: Bearer", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: "Bearer " },
      { authorization: "Basic YWxpY2U6d29uZGVybGFuZA==" },
    ]) {
      const response = await get("/users/me", headers);
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.deepEqual(await response.json(), { detail: "Not authenticated" });
      assert.equal(response.headers.get("www-authenticate"), "Bearer");
    }
  });

  test("an expired token is rejected", async () => {
    const thirtyOneMinutesAgo = Date.now() - 31 * 60 * 1000;
    await assertCredentialsRejected(
      await get("/users/me", bearer(createToken("alice", { now: thirtyOneMinutesAgo }))),
    );
    await assertCredentialsRejected(await get("/users/me", bearer(createToken("alice", { ttlSeconds: 0 }))));
  });

  test("a token still valid for a second is accepted, and rejected once that second has passed", () => {
    const now = Date.now();
    const token = createToken("alice", { ttlSeconds: 1, now });
    assert.equal(verifyToken(token, { now }), "alice");
    assert.equal(verifyToken(token, { now: now + 1000 }), undefined);
  });

  test("a token whose payload was changed is rejected", async () => {
    const token = createToken("alice");
    const [payload = "", signature = ""] = token.split(".");
    for (let index = 0; index < payload.length; index += 7) {
      await assertCredentialsRejected(await get("/users/me", bearer(`${flip(payload, index)}.${signature}`)));
    }
    // Bob's payload under Alice's signature.
    const bobs = createToken("bob").split(".")[0];
    await assertCredentialsRejected(await get("/users/me", bearer(`${bobs}.${signature}`)));
  });

  test("a token whose signature was changed is rejected, the last character too", async () => {
    const token = createToken("alice");
    const [payload = "", signature = ""] = token.split(".");
    // The last of 43 characters has two unused bits: only a comparison of the text catches every change.
    for (const index of [0, 21, signature.length - 1]) {
      await assertCredentialsRejected(await get("/users/me", bearer(`${payload}.${flip(signature, index)}`)));
    }
    await assertCredentialsRejected(
      await get("/users/me", bearer(createToken("alice", { secret: "another secret" }))),
    );
  });

  test("malformed tokens are rejected", async () => {
    const token = createToken("alice");
    for (const malformed of [
      "not-a-token",
      "a.b.c",
      `${token}.extra`,
      token.replace(".", ""),
      `${token}=`,
      `${token.slice(0, -1)}+`,
      signed("not json"),
      signed("null"),
      signed('"alice"'),
      signed('{"sub":"alice"}'),
      signed('{"sub":"alice","exp":"9999999999"}'),
      signed('{"sub":1,"exp":9999999999}'),
      // Signed and unexpired, but for no one the database knows.
      signed('{"sub":"mallory","exp":9999999999}'),
      signed('{"sub":"constructor","exp":9999999999}'),
    ]) {
      await assertCredentialsRejected(await get("/users/me", bearer(malformed)));
    }
  });
});

describe("GET /users/me/items", () => {
  test("each user gets their own items", async () => {
    const alice = await get("/users/me/items", bearer(await signIn("alice", "wonderland")));
    assert.equal(alice.status, 200);
    assert.deepEqual(await alice.json(), [
      { id: 1, title: "Pocket watch", description: "Always late" },
      { id: 2, title: "Looking-glass" },
    ]);
    const bob = await get("/users/me/items", bearer(await signIn("bob", "builder")));
    assert.deepEqual(await bob.json(), [{ id: 3, title: "Hard hat", description: "Yellow" }]);
  });

  test("without a token: 401", async () => {
    const response = await get("/users/me/items");
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { detail: "Not authenticated" });
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
  });
});

describe("GET /admin/stats", () => {
  test("the right key gives the counts", async () => {
    const response = await get("/admin/stats", { "x-api-key": "dev-admin-key" });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { users: 2, items: 3 });
  });

  test("a wrong key is 401", async () => {
    for (const key of ["dev-admin-ke", "dev-admin-keyy", "DEV-ADMIN-KEY", "x", "dev-admin-key".repeat(100)]) {
      const response = await get("/admin/stats", { "x-api-key": key });
      assert.equal(response.status, 401, key);
      assert.deepEqual(await response.json(), { detail: "Invalid API key" });
    }
  });

  test("a missing key is 401", async () => {
    const response = await get("/admin/stats");
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { detail: "Not authenticated" });
  });

  test("a user's bearer token is no admin key", async () => {
    const response = await get("/admin/stats", bearer(createToken("alice")));
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { detail: "Not authenticated" });
  });
});

describe("middleware", () => {
  test("a preflight from the allowed origin is answered, Authorization allowed", async () => {
    const response = await app.fetch(
      new Request("http://localhost/users/me", {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:3000",
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization",
        },
      }),
    );
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "OK");
    assert.equal(response.headers.get("access-control-allow-origin"), "http://localhost:3000");
    assert.match(response.headers.get("access-control-allow-headers") ?? "", /\bAuthorization\b/);
    assert.match(response.headers.get("access-control-allow-methods") ?? "", /\bGET\b/);
  });

  test("a preflight from another origin is refused", async () => {
    const response = await app.fetch(
      new Request("http://localhost/users/me", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
      }),
    );
    assert.equal(response.status, 400);
    assert.equal(await response.text(), "Disallowed CORS origin");
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });

  test("a cross-origin request gets the CORS header, its 401 too", async () => {
    const origin = { origin: "http://localhost:3000" };
    const me = await get("/users/me", { ...origin, ...bearer(createToken("alice")) });
    assert.equal(me.status, 200);
    assert.equal(me.headers.get("access-control-allow-origin"), "http://localhost:3000");
    assert.deepEqual(await me.json(), ALICE);
    const denied = await get("/users/me", origin);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("access-control-allow-origin"), "http://localhost:3000");
    assert.deepEqual(await denied.json(), { detail: "Not authenticated" });
  });

  test("a large response (the OpenAPI document) is gzipped", async () => {
    const response = await get("/openapi.json", { "accept-encoding": "gzip" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-encoding"), "gzip");
    const body = gunzipSync(new Uint8Array(await response.arrayBuffer())).toString("utf8");
    assert.deepEqual(JSON.parse(body), JSON.parse(JSON.stringify(app.openapi())));
  });

  test("a small response is not compressed", async () => {
    const response = await get("/admin/stats", { "x-api-key": "dev-admin-key", "accept-encoding": "gzip" });
    assert.equal(response.headers.get("content-encoding"), null);
    assert.deepEqual(await response.json(), { users: 2, items: 3 });
  });
});

describe("the database session", () => {
  afterEach(() => app.overrides.clear());

  test("is opened per request and closed after the response, whether it succeeded or failed", async () => {
    const requests: [string, () => Promise<Response>, number][] = [
      ["sign-in", () => postToken({ username: "alice", password: "wonderland" }), 200],
      ["failed sign-in", () => postToken({ username: "alice", password: "nope" }), 401],
      ["me", () => get("/users/me", bearer(createToken("alice"))), 200],
      ["items", () => get("/users/me/items", bearer(createToken("alice"))), 200],
      ["tampered token", () => get("/users/me", bearer(`${createToken("alice")}x`)), 401],
      ["admin", () => get("/admin/stats", { "x-api-key": "dev-admin-key" }), 200],
    ];
    // The tests before this one read every response they got: all their sessions are closed by now.
    await afterResponses();
    assert.equal(sessionCounts.closed, sessionCounts.opened, "every earlier request closed its session");
    for (const [what, send, status] of requests) {
      const opened = sessionCounts.opened;
      const response = await send();
      assert.equal(response.status, status, what);
      await response.arrayBuffer();
      await afterResponses();
      assert.equal(sessionCounts.opened, opened + 1, `${what} opens one session`);
      assert.equal(sessionCounts.closed, sessionCounts.opened, `${what} closes its session`);
    }
  });

  test("the handler sees an open session, closed once the response has been sent", async () => {
    const events: string[] = [];
    let used: Session | undefined;
    app.overrides.set(
      db,
      dependency(async function* () {
        const session = new Session();
        used = session;
        events.push("open");
        try {
          yield session;
        } finally {
          session.close();
          events.push("close");
        }
      }),
    );
    const response = await get("/users/me/items", bearer(createToken("bob")));
    events.push("response");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), [{ id: 3, title: "Hard hat", description: "Yellow" }]);
    await afterResponses();
    assert.deepEqual(events, ["open", "response", "close"]);
    assert.equal(used?.isOpen, false);
    assert.throws(() => used?.user("alice"), /closed/);
  });
});

describe("passwords and settings", () => {
  test("hashes are salted per password and verify only their password", async () => {
    const [first, second] = await Promise.all([hashPassword("wonderland"), hashPassword("wonderland")]);
    assert.match(first, /^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    assert.notEqual(first, second);
    assert.equal(await verifyPassword("wonderland", first), true);
    assert.equal(await verifyPassword("wonderland", second), true);
    assert.equal(await verifyPassword("Wonderland", first), false);
    for (const stored of [
      "",
      "wonderland",
      "scrypt$16384$8$1$abc",
      `${first}$`,
      first.replace(/\$[\w-]+$/, "$AAAA"),
    ]) {
      assert.equal(await verifyPassword("wonderland", stored), false, stored);
    }
  });

  /** The example's settings as a fresh process reads them from `env`. */
  function settingsWith(env: Record<string, string>): {
    status: number | null;
    stdout: string;
    stderr: string;
  } {
    const script =
      "const { settings } = await import('./examples/auth/config.ts'); console.log(JSON.stringify(settings));";
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  test("development defaults, and the environment's values when set", () => {
    const defaults = settingsWith({});
    assert.equal(defaults.status, 0, defaults.stderr);
    assert.deepEqual(JSON.parse(defaults.stdout), {
      secret: "dev-secret-change-me",
      adminKey: "dev-admin-key",
      tokenTtlSeconds: 1800,
    });
    const set = settingsWith({ AUTH_SECRET: "s", ADMIN_API_KEY: "k", TOKEN_TTL_SECONDS: "60" });
    assert.deepEqual(JSON.parse(set.stdout), { secret: "s", adminKey: "k", tokenTtlSeconds: 60 });
  });

  test("production refuses the development secrets, and a bad TTL is refused", () => {
    const production = settingsWith({ NODE_ENV: "production", ADMIN_API_KEY: "k" });
    assert.notEqual(production.status, 0);
    assert.match(production.stderr, /AUTH_SECRET must be set in production/);
    const ttl = settingsWith({ TOKEN_TTL_SECONDS: "ten" });
    assert.notEqual(ttl.status, 0);
    assert.match(ttl.stderr, /TOKEN_TTL_SECONDS must be a whole number/);
  });
});

describe("the OpenAPI document", () => {
  const document = app.openapi() as unknown as {
    paths: Record<string, Record<string, { security?: unknown; requestBody?: { content: object } }>>;
    components: { securitySchemes: unknown; schemas: Record<string, { properties?: object }> };
  };

  test("passes an independent OpenAPI 3.1 validator", async () => {
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, "3.1");
  });

  test("documents the OAuth2 password flow with a relative token URL, and the API key header", () => {
    assert.deepEqual(document.components.securitySchemes, {
      OAuth2PasswordBearer: { type: "oauth2", flows: { password: { scopes: {}, tokenUrl: "token" } } },
      APIKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
    });
    assert.deepEqual(document.paths["/users/me"]?.get?.security, [{ OAuth2PasswordBearer: [] }]);
    assert.deepEqual(document.paths["/users/me/items"]?.get?.security, [{ OAuth2PasswordBearer: [] }]);
    assert.deepEqual(document.paths["/admin/stats"]?.get?.security, [{ APIKeyHeader: [] }]);
    assert.equal(document.paths["/token"]?.post?.security, undefined);
    assert.deepEqual(Object.keys(document.paths["/token"]?.post?.requestBody?.content ?? {}), [
      "application/x-www-form-urlencoded",
    ]);
  });

  test("the User schema has no password hash", () => {
    assert.deepEqual(Object.keys(document.components.schemas.User?.properties ?? {}).sort(), [
      "email",
      "full_name",
      "username",
    ]);
  });
});
