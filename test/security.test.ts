import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import {
  App,
  type AuthorizationCredentials,
  apiKey,
  type BasicCredentials,
  type Dependency,
  dependency,
  httpBasic,
  httpBearer,
  isBriskError,
  oauth2PasswordBearer,
  openIdConnect,
  type PasswordForm,
  passwordForm,
  Router,
  withScopes,
} from "briskjs";
import { z } from "zod";
import { expectJson } from "./helpers/app.ts";

/** Sends a request to the app in-process. */
function call(app: App, target: string, headers: Record<string, string> = {}): Promise<Response> {
  return app.fetch(new Request(`http://test${target}`, { headers }));
}

function post(app: App, target: string, contentType: string, body: string | FormData): Promise<Response> {
  const headers: Record<string, string> = contentType === "" ? {} : { "content-type": contentType };
  return app.fetch(new Request(`http://test${target}`, { method: "POST", headers, body }));
}

/** Asserts FastAPI's 401 for missing credentials, with its exact challenge. */
async function expectUnauthenticated(
  response: Response,
  challenge: string,
  detail = "Not authenticated",
): Promise<void> {
  assert.equal(response.headers.get("www-authenticate"), challenge);
  await expectJson(response, 401, { detail });
}

const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;

/** An app answering `GET /` with what `scheme` gives the handler (`null` for undefined). */
function appWith<Value>(scheme: Dependency<Value>): App {
  return new App().get("/", { deps: { auth: scheme } }, ({ auth }) => ({ auth: auth ?? null }));
}

type Operation = { security?: unknown; responses: Record<string, unknown>; requestBody?: unknown };

function operation(app: App, path = "/", method = "get"): Operation {
  const paths = app.openapi().paths as Record<string, Record<string, Operation>>;
  const found = paths[path]?.[method];
  assert.ok(found, `no ${method} ${path} in the document`);
  return found;
}

function securitySchemes(app: App): unknown {
  return (app.openapi().components as { securitySchemes?: unknown } | undefined)?.securitySchemes;
}

describe("httpBearer", () => {
  const app = appWith(httpBearer());

  test("gives the scheme as sent and the token", async () => {
    await expectJson(await call(app, "/", { authorization: "Bearer abc.def" }), 200, {
      auth: { scheme: "Bearer", credentials: "abc.def" },
    });
  });

  test("the scheme name is case-insensitive and the token is trimmed", async () => {
    await expectJson(await call(app, "/", { authorization: "bearer  tok  " }), 200, {
      auth: { scheme: "bearer", credentials: "tok" },
    });
    await expectJson(await call(app, "/", { authorization: "BEARER tok" }), 200, {
      auth: { scheme: "BEARER", credentials: "tok" },
    });
  });

  test("a missing header, a wrong scheme and an empty token are 401 with a Bearer challenge", async () => {
    await expectUnauthenticated(await call(app, "/"), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "Basic x" }), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "Bearer" }), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "Bearer    " }), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "" }), "Bearer");
  });

  test("autoError: false gives undefined and the route answers", async () => {
    const optional = appWith(httpBearer({ autoError: false }));
    await expectJson(await call(optional, "/"), 200, { auth: null });
    await expectJson(await call(optional, "/", { authorization: "Basic x" }), 200, { auth: null });
    await expectJson(await call(optional, "/", { authorization: "Bearer t" }), 200, {
      auth: { scheme: "Bearer", credentials: "t" },
    });
  });
});

describe("oauth2PasswordBearer", () => {
  const app = appWith(oauth2PasswordBearer({ tokenUrl: "token" }));

  test("gives the token alone", async () => {
    await expectJson(await call(app, "/", { authorization: "Bearer abc" }), 200, { auth: "abc" });
    await expectJson(await call(app, "/", { authorization: "bEaReR   abc " }), 200, { auth: "abc" });
  });

  test("a missing header, a wrong scheme and an empty token are 401 with a Bearer challenge", async () => {
    await expectUnauthenticated(await call(app, "/"), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "Basic x" }), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "Bearer " }), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "abc" }), "Bearer");
  });

  test("autoError: false gives undefined", async () => {
    const optional = appWith(oauth2PasswordBearer({ tokenUrl: "token", autoError: false }));
    await expectJson(await call(optional, "/"), 200, { auth: null });
    await expectJson(await call(optional, "/", { authorization: "Basic x" }), 200, { auth: null });
  });
});

describe("openIdConnect", () => {
  const app = appWith(openIdConnect({ url: "https://id.example.com/.well-known/openid-configuration" }));

  test("gives the whole Authorization header, whatever its scheme (as FastAPI's OpenIdConnect)", async () => {
    await expectJson(await call(app, "/", { authorization: "Bearer abc" }), 200, { auth: "Bearer abc" });
    await expectJson(await call(app, "/", { authorization: "Basic x" }), 200, { auth: "Basic x" });
  });

  test("a missing or empty header is 401 with a Bearer challenge", async () => {
    await expectUnauthenticated(await call(app, "/"), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "" }), "Bearer");
    await expectUnauthenticated(await call(app, "/", { authorization: "   " }), "Bearer");
  });

  test("autoError: false gives undefined", async () => {
    const optional = appWith(openIdConnect({ url: "https://id.example.com/oidc", autoError: false }));
    await expectJson(await call(optional, "/"), 200, { auth: null });
  });
});

describe("httpBasic", () => {
  const app = appWith(httpBasic());

  test("gives username and password; the password may contain ':'", async () => {
    await expectJson(await call(app, "/", { authorization: basic("alice:wonderland") }), 200, {
      auth: { username: "alice", password: "wonderland" },
    });
    await expectJson(await call(app, "/", { authorization: basic("bob:a:b::c") }), 200, {
      auth: { username: "bob", password: "a:b::c" },
    });
    await expectJson(await call(app, "/", { authorization: basic(":") }), 200, {
      auth: { username: "", password: "" },
    });
  });

  test("the scheme name is case-insensitive and the credentials are trimmed", async () => {
    const encoded = Buffer.from("alice:pw").toString("base64");
    for (const header of [`basic ${encoded}`, `BASIC   ${encoded}  `]) {
      await expectJson(await call(app, "/", { authorization: header }), 200, {
        auth: { username: "alice", password: "pw" },
      });
    }
  });

  test("a missing header or a wrong scheme is 401 with a Basic challenge", async () => {
    await expectUnauthenticated(await call(app, "/"), "Basic");
    await expectUnauthenticated(await call(app, "/", { authorization: "Bearer x" }), "Basic");
  });

  test("an empty credential is 401 Not authenticated (FastAPI: `not credentials` is a missing one)", {}, async () => {
    await expectUnauthenticated(await call(app, "/", { authorization: "Basic" }), "Basic");
    await expectUnauthenticated(await call(app, "/", { authorization: "Basic   " }), "Basic");
    const optional = appWith(httpBasic({ autoError: false }));
    await expectJson(await call(optional, "/", { authorization: "Basic " }), 200, { auth: null });
  });

  test("a realm goes into the challenge, quoted", async () => {
    const realm = appWith(httpBasic({ realm: "simple" }));
    await expectUnauthenticated(await call(realm, "/"), 'Basic realm="simple"');
    const quoted = appWith(httpBasic({ realm: 'say "hi"' }));
    await expectUnauthenticated(await call(quoted, "/"), 'Basic realm="say \\"hi\\""');
  });

  test("malformed base64 or no colon is 401 Invalid authentication credentials, even with autoError: false", async () => {
    const invalid = "Invalid authentication credentials";
    const optional = appWith(httpBasic({ autoError: false, realm: "r" }));
    for (const header of ["Basic !!!not-base64!!!", basic("no-colon-here"), "Basic %%%%"]) {
      await expectUnauthenticated(await call(app, "/", { authorization: header }), "Basic", invalid);
      await expectUnauthenticated(
        await call(optional, "/", { authorization: header }),
        'Basic realm="r"',
        invalid,
      );
    }
  });

  test("autoError: false gives undefined for missing credentials or another scheme", async () => {
    const optional = appWith(httpBasic({ autoError: false }));
    await expectJson(await call(optional, "/"), 200, { auth: null });
    await expectJson(await call(optional, "/", { authorization: "Bearer x" }), 200, { auth: null });
    await expectJson(await call(optional, "/", { authorization: basic("a:b") }), 200, {
      auth: { username: "a", password: "b" },
    });
  });
});

describe("apiKey", () => {
  test("in a header, whose name is case-insensitive", async () => {
    const app = appWith(apiKey({ in: "header", name: "X-API-Key" }));
    await expectJson(await call(app, "/", { "x-api-key": "secret" }), 200, { auth: "secret" });
    await expectJson(await call(app, "/", { "X-Api-KEY": "secret" }), 200, { auth: "secret" });
    await expectUnauthenticated(await call(app, "/"), "APIKey");
    await expectUnauthenticated(await call(app, "/", { "x-api-key": "" }), "APIKey");
    await expectUnauthenticated(await call(app, "/", { "x-other": "secret" }), "APIKey");
  });

  test("in the query", async () => {
    const app = appWith(apiKey({ in: "query", name: "api_key" }));
    await expectJson(await call(app, "/?api_key=secret"), 200, { auth: "secret" });
    await expectUnauthenticated(await call(app, "/"), "APIKey");
    await expectUnauthenticated(await call(app, "/?api_key="), "APIKey");
    await expectUnauthenticated(await call(app, "/?API_KEY=secret"), "APIKey");
  });

  test("in a cookie", async () => {
    const app = appWith(apiKey({ in: "cookie", name: "session" }));
    await expectJson(await call(app, "/", { cookie: "a=1; session=secret; b=2" }), 200, { auth: "secret" });
    await expectUnauthenticated(await call(app, "/"), "APIKey");
    await expectUnauthenticated(await call(app, "/", { cookie: "other=secret" }), "APIKey");
    await expectUnauthenticated(await call(app, "/", { cookie: "session=" }), "APIKey");
  });

  test("autoError: false gives undefined", async () => {
    for (const where of ["header", "query", "cookie"] as const) {
      const app = appWith(apiKey({ in: where, name: "key", autoError: false }));
      await expectJson(await call(app, "/"), 200, { auth: null });
    }
  });
});

describe("security and the route's own inputs", () => {
  test("a security dependency's 401 pre-empts the route's own 422", async () => {
    const app = new App().post(
      "/items",
      {
        query: { q: z.string() },
        body: z.object({ name: z.string() }),
        deps: { token: oauth2PasswordBearer({ tokenUrl: "token" }) },
      },
      ({ token, query, body }) => ({ token, q: query.q, name: body.name }),
    );
    const response = await app.fetch(
      new Request("http://test/items", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }),
    );
    await expectUnauthenticated(response, "Bearer");
    const authorized = await app.fetch(
      new Request("http://test/items", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer t" },
        body: "{}",
      }),
    );
    assert.equal(authorized.status, 422);
  });

  test("malformed JSON is still reported first, as FastAPI reads the body before solving dependencies", async () => {
    const app = new App().post(
      "/",
      { body: z.object({ a: z.string() }), deps: { token: oauth2PasswordBearer({ tokenUrl: "token" }) } },
      ({ token }) => token,
    );
    const response = await app.fetch(
      new Request("http://test/", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{bad",
      }),
    );
    await expectJson(response, 422, {
      detail: [
        {
          type: "json_invalid",
          loc: ["body", 1],
          msg: "JSON decode error",
          input: {},
          ctx: { error: "Expecting property name enclosed in double quotes" },
        },
      ],
    });
  });

  test("a security dependency of a dependency pre-empts that dependency's 422 too", async () => {
    const user = dependency(
      { headers: { x_tenant: z.string() }, deps: { key: apiKey({ in: "header", name: "X-Key" }) } },
      ({ key, headers }) => `${headers.x_tenant}:${key}`,
    );
    const app = new App().get("/", { deps: { user } }, ({ user }) => user);
    await expectUnauthenticated(await call(app, "/"), "APIKey");
    await expectJson(await call(app, "/", { "x-key": "k", "x-tenant": "t" }), 200, "t:k");
  });

  test("a security-only route documents no 422 and no parameters, but its 401", () => {
    const app = new App()
      .get("/a", { deps: { auth: httpBearer() } }, () => 1)
      .get("/b", { deps: { key: apiKey({ in: "query", name: "k" }) } }, () => 1)
      .get("/c", { dependencies: [apiKey({ in: "cookie", name: "c" })] }, () => 1)
      .get("/d", { deps: { maybe: httpBearer({ autoError: false }) } }, () => 1);
    for (const path of ["/a", "/b", "/c"]) {
      const found = operation(app, path) as Operation & { parameters?: unknown };
      assert.deepEqual(Object.keys(found.responses), ["200", "401"], path);
      assert.deepEqual(found.responses["401"], {
        description: "Unauthorized",
        content: { "application/json": { schema: { $ref: "#/components/schemas/HTTPError" } } },
      });
      assert.equal(found.parameters, undefined, path);
    }
    assert.deepEqual(
      Object.keys(operation(app, "/d").responses),
      ["200"],
      "an optional scheme turns no one away",
    );
    assert.deepEqual(Object.keys((app.openapi().components as object) ?? {}), ["schemas", "securitySchemes"]);
  });
});

describe("passwordForm", () => {
  const tokenApp = () => new App().post("/token", { deps: { form: passwordForm } }, ({ form }) => ({ form }));

  test("a URL-encoded form gives every field, scope split on spaces", async () => {
    const body =
      "grant_type=password&username=alice&password=wonder%3Aland&scope=me++items%20read&client_id=cli&client_secret=sec";
    await expectJson(await post(tokenApp(), "/token", "application/x-www-form-urlencoded", body), 200, {
      form: {
        grantType: "password",
        username: "alice",
        password: "wonder:land",
        scopes: ["me", "items", "read"],
        clientId: "cli",
        clientSecret: "sec",
      },
    });
  });

  test("only username and password are required", async () => {
    const response = await post(
      tokenApp(),
      "/token",
      "application/x-www-form-urlencoded",
      "username=alice&password=x",
    );
    // `undefined` fields drop out of the JSON.
    await expectJson(response, 200, { form: { username: "alice", password: "x", scopes: [] } });
  });

  test("grant_type other than 'password' is 422 at ['body', 'grant_type']", async () => {
    const response = await post(
      tokenApp(),
      "/token",
      "application/x-www-form-urlencoded",
      "grant_type=other&username=alice&password=x",
    );
    await expectJson(response, 422, {
      detail: [
        {
          type: "string_pattern_mismatch",
          loc: ["body", "grant_type"],
          msg: "String should match pattern '^password$'",
          input: "other",
          ctx: { pattern: "^password$" },
        },
      ],
    });
  });

  test("a JSON body is 422 with username and password missing (FastAPI's behaviour)", async () => {
    const response = await post(
      tokenApp(),
      "/token",
      "application/json",
      JSON.stringify({ username: "alice", password: "x" }),
    );
    await expectJson(response, 422, {
      detail: [
        { type: "missing", loc: ["body", "username"], msg: "Field required", input: null },
        { type: "missing", loc: ["body", "password"], msg: "Field required", input: null },
      ],
    });
  });

  test("a multipart body is read like a URL-encoded one", async () => {
    const data = new FormData();
    data.set("username", "alice");
    data.set("password", "x");
    const response = await post(tokenApp(), "/token", "", data);
    assert.equal(response.status, 200);
    const { form } = await response.json();
    assert.equal(form.username, "alice");
    assert.equal(form.password, "x");
  });

  test("its requestBody is a URL-encoded form with password fields of format 'password'", () => {
    const found = operation(tokenApp(), "/token", "post");
    // brisk inlines a schema without an id of its own, where FastAPI names it `Body_<operationId>`.
    assert.deepEqual(found.requestBody, {
      content: {
        "application/x-www-form-urlencoded": {
          schema: {
            type: "object",
            properties: {
              grant_type: { type: "string", pattern: "^password$" },
              username: { type: "string" },
              password: { type: "string", format: "password" },
              scope: { default: "", type: "string" },
              client_id: { type: "string" },
              client_secret: { type: "string", format: "password" },
            },
            required: ["username", "password"],
          },
        },
      },
      required: true,
    });
    // A form's fields are missing from a body of another media type (422): no 415 is documented.
    assert.deepEqual(Object.keys(found.responses), ["200", "413", "422"]);
  });

  test("Swagger UI's password-flow request gets the token", async () => {
    const users = new Map([["alice", "wonderland"]]);
    const oauth2 = oauth2PasswordBearer({
      tokenUrl: "token",
      scopes: { me: "Read me", items: "Read items" },
    });
    const app = new App()
      .post("/token", { deps: { form: passwordForm } }, ({ form }) => {
        if (users.get(form.username) !== form.password) return { error: "invalid_grant" };
        return { access_token: `${form.username}|${form.scopes.join(",")}`, token_type: "bearer" };
      })
      .get("/me", { deps: { token: withScopes(oauth2, ["me"]) } }, ({ token }) => ({ token }));
    const response = await app.fetch(
      new Request("http://test/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: "grant_type=password&username=alice&password=wonderland&scope=me+items",
      }),
    );
    await expectJson(response, 200, { access_token: "alice|me,items", token_type: "bearer" });
    await expectJson(await call(app, "/me", { authorization: "Bearer alice|me,items" }), 200, {
      token: "alice|me,items",
    });
  });
});

describe("OpenAPI securitySchemes", () => {
  test("each scheme's object, as FastAPI's table, under its default name", () => {
    const app = new App().get(
      "/",
      {
        deps: {
          bearer: httpBearer(),
          basic: httpBasic({ realm: "ignored in the document" }),
          headerKey: apiKey({ in: "header", name: "X-API-Key" }),
          queryKey: apiKey({ in: "query", name: "api_key" }),
          cookieKey: apiKey({ in: "cookie", name: "session" }),
          oauth2: oauth2PasswordBearer({ tokenUrl: "token" }),
          oidc: openIdConnect({ url: "https://id.example.com/.well-known/openid-configuration" }),
        },
      },
      () => 1,
    );
    assert.deepEqual(securitySchemes(app), {
      APIKeyCookie: { type: "apiKey", in: "cookie", name: "session" },
      APIKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
      APIKeyQuery: { type: "apiKey", in: "query", name: "api_key" },
      HTTPBasic: { type: "http", scheme: "basic" },
      HTTPBearer: { type: "http", scheme: "bearer" },
      OAuth2PasswordBearer: { type: "oauth2", flows: { password: { scopes: {}, tokenUrl: "token" } } },
      OpenIdConnect: {
        type: "openIdConnect",
        openIdConnectUrl: "https://id.example.com/.well-known/openid-configuration",
      },
    });
    assert.deepEqual(Object.keys(securitySchemes(app) as object), [
      "APIKeyCookie",
      "APIKeyHeader",
      "APIKeyQuery",
      "HTTPBasic",
      "HTTPBearer",
      "OAuth2PasswordBearer",
      "OpenIdConnect",
    ]);
  });

  test("description, bearerFormat, refreshUrl, scopes and a custom schemeName", () => {
    const app = new App().get(
      "/",
      {
        deps: {
          bearer: httpBearer({ bearerFormat: "JWT", description: "A JWT", schemeName: "jwt" }),
          basic: httpBasic({ description: "Users and passwords", schemeName: "basicAuth" }),
          key: apiKey({ in: "header", name: "X-Key", description: "The key", schemeName: "key" }),
          oauth2: oauth2PasswordBearer({
            tokenUrl: "/auth/token",
            refreshUrl: "/auth/refresh",
            scopes: { me: "Read your profile", items: "Read items" },
            description: "Password flow",
            schemeName: "oauth",
          }),
          oidc: openIdConnect({
            url: "https://id.example.com/oidc",
            description: "OIDC",
            schemeName: "oidc",
          }),
        },
      },
      () => 1,
    );
    assert.deepEqual(securitySchemes(app), {
      basicAuth: { type: "http", scheme: "basic", description: "Users and passwords" },
      jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A JWT" },
      key: { type: "apiKey", in: "header", name: "X-Key", description: "The key" },
      oauth: {
        type: "oauth2",
        flows: {
          password: {
            scopes: { me: "Read your profile", items: "Read items" },
            tokenUrl: "/auth/token",
            refreshUrl: "/auth/refresh",
          },
        },
        description: "Password flow",
      },
      oidc: { type: "openIdConnect", openIdConnectUrl: "https://id.example.com/oidc", description: "OIDC" },
    });
    assert.deepEqual(operation(app).security, [{ jwt: [], basicAuth: [], key: [], oauth: [], oidc: [] }]);
  });

  test("no scheme, no securitySchemes and no security", () => {
    const app = new App().get("/", {}, () => 1);
    assert.equal(securitySchemes(app), undefined);
    assert.equal(operation(app).security, undefined);
  });
});

describe("OpenAPI operation security", () => {
  test("ONE requirement object listing every scheme the route needs, sub-dependencies' included", () => {
    const bearer = httpBearer();
    const key = apiKey({ in: "header", name: "X-Key" });
    const user = dependency({ deps: { bearer } }, ({ bearer }) => bearer.credentials);
    const app = new App().get("/", { deps: { user, key } }, () => 1).get("/open", {}, () => 1);
    assert.deepEqual(operation(app).security, [{ HTTPBearer: [], APIKeyHeader: [] }]);
    assert.equal(operation(app, "/open").security, undefined);
  });

  test("router, include and app dependencies add their schemes", () => {
    const router = new Router({ dependencies: [apiKey({ in: "header", name: "X-Router" })] }).get(
      "/r",
      { dependencies: [httpBasic()] },
      () => 1,
    );
    const app = new App({ dependencies: [apiKey({ in: "query", name: "app_key" })] })
      .get("/own", { deps: { token: httpBearer() } }, () => 1)
      .include(router, { dependencies: [apiKey({ in: "cookie", name: "included" })] });
    assert.deepEqual(operation(app, "/own").security, [{ APIKeyQuery: [], HTTPBearer: [] }]);
    assert.deepEqual(operation(app, "/r").security, [
      { APIKeyQuery: [], APIKeyCookie: [], APIKeyHeader: [], HTTPBasic: [] },
    ]);
  });

  test("the scopes of every use of a scheme are merged, without duplicates", () => {
    const oauth2 = oauth2PasswordBearer({ tokenUrl: "token", scopes: { me: "", items: "", admin: "" } });
    const user = dependency({ deps: { token: withScopes(oauth2, ["me"]) } }, ({ token }) => token);
    const app = new App().get(
      "/",
      {
        deps: { user, items: withScopes(oauth2, ["items", "me"]) },
        dependencies: [withScopes(withScopes(oauth2, ["admin"]), ["items"])],
      },
      () => 1,
    );
    assert.deepEqual(operation(app).security, [{ OAuth2PasswordBearer: ["admin", "items", "me"] }]);
    // The scheme object stays the same, whatever scopes its uses ask for.
    assert.deepEqual(securitySchemes(app), {
      OAuth2PasswordBearer: {
        type: "oauth2",
        flows: { password: { scopes: { me: "", items: "", admin: "" }, tokenUrl: "token" } },
      },
    });
  });

  test("withScopes enforces like the scheme it wraps", async () => {
    const oauth2 = oauth2PasswordBearer({ tokenUrl: "token" });
    const app = appWith(withScopes(oauth2, ["me"]));
    await expectUnauthenticated(await call(app, "/"), "Bearer");
    await expectJson(await call(app, "/", { authorization: "Bearer t" }), 200, { auth: "t" });
  });

  test("overriding a scheme replaces it for the route", async () => {
    const oauth2 = oauth2PasswordBearer({ tokenUrl: "token" });
    const app = appWith(oauth2);
    app.overrides.set(
      oauth2,
      dependency(() => "fake"),
    );
    await expectJson(await call(app, "/"), 200, { auth: "fake" });
  });

  test("overriding a scheme replaces its withScopes uses too (FastAPI overrides Security(dep, scopes) by dep)", {}, async () => {
    const oauth2 = oauth2PasswordBearer({ tokenUrl: "token" });
    const app = appWith(withScopes(oauth2, ["me"]));
    app.overrides.set(
      oauth2,
      dependency(() => "fake"),
    );
    await expectJson(await call(app, "/"), 200, { auth: "fake" });
  });

  test("withScopes refuses a dependency that is not a security scheme", () => {
    assert.throws(
      () =>
        withScopes(
          dependency(() => 1),
          ["me"],
        ),
      TypeError,
    );
  });

  test("an optional scheme adds {} as an alternative; a required one beside it does not", () => {
    const app = new App()
      .get("/optional", { deps: { token: httpBearer({ autoError: false }) } }, () => 1)
      .get(
        "/both-optional",
        {
          deps: {
            token: httpBearer({ autoError: false }),
            key: apiKey({ in: "header", name: "X-Key", autoError: false }),
          },
        },
        () => 1,
      )
      .get(
        "/mixed",
        { deps: { token: httpBearer({ autoError: false }), key: apiKey({ in: "header", name: "X-Key" }) } },
        () => 1,
      );
    assert.deepEqual(operation(app, "/optional").security, [{ HTTPBearer: [] }, {}]);
    assert.deepEqual(operation(app, "/both-optional").security, [{ HTTPBearer: [], APIKeyHeader: [] }, {}]);
    assert.deepEqual(operation(app, "/mixed").security, [{ HTTPBearer: [], APIKeyHeader: [] }]);
  });

  test("the same scheme used optionally and required on different routes documents one scheme", () => {
    const app = new App()
      .get("/a", { deps: { token: httpBearer({ autoError: false }) } }, () => 1)
      .get("/b", { deps: { token: httpBearer() } }, () => 1);
    assert.deepEqual(securitySchemes(app), { HTTPBearer: { type: "http", scheme: "bearer" } });
  });

  test("two different schemes with the same schemeName are BRISK_SCHEMA_NAME_CLASH", () => {
    const app = new App()
      .get("/a", { deps: { key: apiKey({ in: "header", name: "X-A", schemeName: "key" }) } }, () => 1)
      .get("/b", { deps: { key: apiKey({ in: "header", name: "X-B", schemeName: "key" }) } }, () => 1);
    assert.throws(
      () => app.openapi(),
      (error: unknown) => isBriskError(error) && error.code === "BRISK_SCHEMA_NAME_CLASH",
    );
    const sameRoute = new App().get(
      "/",
      { deps: { a: httpBearer(), b: httpBearer({ bearerFormat: "JWT" }) } },
      () => 1,
    );
    assert.throws(
      () => sameRoute.openapi(),
      (error: unknown) => isBriskError(error) && error.code === "BRISK_SCHEMA_NAME_CLASH",
    );
  });

  test("equal schemes built twice share their name without a clash", () => {
    const app = new App()
      .get("/a", { deps: { key: apiKey({ in: "header", name: "X-Key" }) } }, () => 1)
      .get("/b", { deps: { key: apiKey({ in: "header", name: "X-Key" }) } }, () => 1);
    assert.deepEqual(securitySchemes(app), { APIKeyHeader: { type: "apiKey", in: "header", name: "X-Key" } });
  });

  test("a document with all five schemes passes an independent OpenAPI 3.1 validator", async () => {
    const oauth2 = oauth2PasswordBearer({
      tokenUrl: "token",
      refreshUrl: "refresh",
      scopes: { me: "Read me" },
      description: "Password flow",
    });
    const app = new App()
      .post("/token", { deps: { form: passwordForm } }, ({ form }) => ({ access_token: form.username }))
      .get("/me", { deps: { token: withScopes(oauth2, ["me"]) } }, () => 1)
      .get("/bearer", { deps: { auth: httpBearer({ bearerFormat: "JWT", autoError: false }) } }, () => 1)
      .get("/basic", { deps: { auth: httpBasic({ description: "Basic" }) } }, () => 1)
      .get(
        "/keys",
        {
          deps: {
            h: apiKey({ in: "header", name: "X-Key" }),
            q: apiKey({ in: "query", name: "key" }),
            c: apiKey({ in: "cookie", name: "key" }),
          },
        },
        () => 1,
      )
      .get("/oidc", { deps: { auth: openIdConnect({ url: "https://id.example.com/oidc" }) } }, () => 1);
    const validator = new Validator();
    const result = await validator.validate(app.openapi() as unknown as Record<string, unknown>);
    assert.ok(result.valid, `invalid OpenAPI document:\n${JSON.stringify(result.errors, null, 2)}`);
    assert.equal(validator.version, "3.1");
  });
});

// types: what each scheme gives the handler, checked by `tsc --noEmit`.
new App()
  .get(
    "/types",
    {
      deps: {
        bearer: httpBearer(),
        optionalBearer: httpBearer({ autoError: false }),
        basic: httpBasic(),
        optionalBasic: httpBasic({ autoError: false }),
        key: apiKey({ in: "header", name: "X-Key" }),
        optionalKey: apiKey({ in: "query", name: "k", autoError: false }),
        token: oauth2PasswordBearer({ tokenUrl: "token" }),
        scoped: withScopes(oauth2PasswordBearer({ tokenUrl: "token" }), ["me"]),
        oidc: openIdConnect({ url: "https://id.example.com/oidc" }),
      },
    },
    (context) => {
      const bearer: AuthorizationCredentials = context.bearer;
      const credentials: string = context.bearer.credentials;
      const optionalBearer: AuthorizationCredentials | undefined = context.optionalBearer;
      // @ts-expect-error: may be undefined with autoError: false
      const notOptional: AuthorizationCredentials = context.optionalBearer;
      const basicCredentials: BasicCredentials = context.basic;
      const username: string = context.basic.username;
      const optionalBasic: BasicCredentials | undefined = context.optionalBasic;
      const key: string = context.key;
      const optionalKey: string | undefined = context.optionalKey;
      // @ts-expect-error: may be undefined with autoError: false
      const keyNotOptional: string = context.optionalKey;
      const token: string = context.token;
      const scoped: string = context.scoped;
      const oidc: string = context.oidc;
      return [
        bearer,
        credentials,
        optionalBearer,
        notOptional,
        basicCredentials,
        username,
        optionalBasic,
        key,
        optionalKey,
        keyNotOptional,
        token,
        scoped,
        oidc,
      ].length;
    },
  )
  .post("/types-token", { deps: { form: passwordForm } }, ({ form }) => {
    const whole: PasswordForm = form;
    const scopes: string[] = form.scopes;
    const grantType: "password" | undefined = form.grantType;
    const clientId: string | undefined = form.clientId;
    return [whole, scopes, grantType, clientId].length;
  });
