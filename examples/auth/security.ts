// Who is asking: the signed-in user (OAuth2 password flow, bearer tokens) and the administrator (an API key).
import { createHash, timingSafeEqual } from "node:crypto";
import { apiKey, type Dependency, dependency, HTTPException, oauth2PasswordBearer } from "briskjs";
import { settings } from "./config.ts";
import { db, type Session, type UserRecord } from "./database.ts";
import { DUMMY_HASH, verifyPassword } from "./passwords.ts";
import { verifyToken } from "./tokens.ts";

/**
 * The bearer token, documented as OAuth2's password flow so that the docs' Authorize dialog can sign in. The token
 * URL is relative: resolved against the document's URL, it stays right when a proxy serves the app under a prefix.
 */
const bearerToken = oauth2PasswordBearer({ tokenUrl: "token" });

/** The user with this username and password, or undefined. */
export async function authenticate(
  session: Session,
  username: string,
  password: string,
): Promise<UserRecord | undefined> {
  const user = session.user(username);
  // An unknown username costs a hash too: otherwise the response time would tell which usernames exist.
  const valid = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  return valid ? user : undefined;
}

/** The user the request's bearer token names; 401 when the token is missing, malformed, tampered with or expired. */
export const currentUser: Dependency<UserRecord> = dependency(
  { deps: { token: bearerToken, db } },
  ({ token, db }) => {
    const username = verifyToken(token);
    const user = username === undefined ? undefined : db.user(username);
    if (user === undefined) {
      throw new HTTPException(401, "Could not validate credentials", { "WWW-Authenticate": "Bearer" });
    }
    return user;
  },
);

const adminKeyHeader = apiKey({ in: "header", name: "X-API-Key" });

/** SHA-256 makes both sides 32 bytes: `timingSafeEqual` needs equal lengths, and the key's length stays secret. */
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

const ADMIN_KEY_DIGEST = digest(settings.adminKey);

/** Lets the request through with the right `X-API-Key`; 401 without one or with a wrong one. */
export const requireAdmin: Dependency<void> = dependency({ deps: { key: adminKeyHeader } }, ({ key }) => {
  if (!timingSafeEqual(digest(key), ADMIN_KEY_DIGEST)) {
    throw new HTTPException(401, "Invalid API key", { "WWW-Authenticate": "APIKey" });
  }
});
