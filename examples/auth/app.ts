// An authenticated API: sign in with a username and password (OAuth2's password flow) for a signed, expiring
// bearer token, read your own data with it; an administrator's API key for the statistics. Only node:crypto: no
// third-party auth service. See "Example: an authenticated API" in the README.
import { App, cors, gzip, HTTPException, passwordForm } from "briskjs";
import { z } from "zod";
import { db } from "./database.ts";
import { authenticate, requireAdmin } from "./security.ts";
import { createToken } from "./tokens.ts";
import { users } from "./users.ts";

const Token = z.object({ access_token: z.string(), token_type: z.literal("bearer") }).meta({ id: "Token" });
const Unauthorized = { 401: { description: "Missing or wrong credentials" } };

export const app: App = new App({
  title: "Auth example",
  tags: [
    { name: "auth", description: "Signing in" },
    { name: "users", description: "The signed-in user's data" },
    { name: "admin", description: "For the holder of the admin API key" },
  ],
});

// A browser app on another origin (a development server on port 3000) may call the API with a token.
app.use(
  cors({
    allowOrigins: ["http://localhost:3000"],
    allowMethods: ["GET", "POST"],
    allowHeaders: ["Authorization"],
  }),
);
app.use(gzip());

app.post(
  "/token",
  { deps: { form: passwordForm, db }, response: Token, responses: Unauthorized, tags: ["auth"] },
  async ({ form, db }) => {
    const user = await authenticate(db, form.username, form.password);
    if (user === undefined) {
      throw new HTTPException(401, "Incorrect username or password", { "WWW-Authenticate": "Bearer" });
    }
    return { access_token: createToken(user.username), token_type: "bearer" as const };
  },
);

app.include(users, { responses: Unauthorized });

app.get(
  "/admin/stats",
  {
    dependencies: [requireAdmin],
    deps: { db },
    response: z.object({ users: z.int(), items: z.int() }),
    responses: Unauthorized,
    tags: ["admin"],
  },
  ({ db }) => db.counts(),
);
