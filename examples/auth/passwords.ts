// Password hashes: scrypt with a random salt per password, stored with their cost parameters so that they can be
// raised later without invalidating the hashes already stored.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Node's default cost: 16 MiB and tens of milliseconds per hash, light enough for an example's tests. OWASP asks
 * for N=2^17 (128 MiB) in production; raising it here leaves the stored hashes valid, since each carries its own.
 */
const COST = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, options: ScryptOptions, length: number): Promise<Buffer> {
  // The asynchronous form runs on libuv's thread pool: a sign-in does not block other requests for ~50 ms.
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFKC"),
      salt,
      length,
      { ...options, maxmem: 256 * 1024 * 1024 },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    ),
  );
}

/** A new hash of `password`: `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, COST, KEY_LENGTH);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

const STORED = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([\w-]+)\$([\w-]+)$/;

/** True when `password` matches `stored`; false for a wrong password and for a stored value that is no hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = STORED.exec(stored);
  if (match === null) return false;
  const [, N, r, p, salt = "", hash = ""] = match;
  const expected = Buffer.from(hash, "base64url");
  if (expected.length < 16) return false;
  const key = await derive(
    password,
    Buffer.from(salt, "base64url"),
    { N: Number(N), r: Number(r), p: Number(p) },
    expected.length,
  );
  return timingSafeEqual(key, expected);
}

/**
 * A hash of no one's password, checked when the username is unknown so that a wrong username takes as long as a
 * wrong password: the response time does not tell which usernames exist.
 */
export const DUMMY_HASH: string = `scrypt$${COST.N}$${COST.r}$${COST.p}$${"A".repeat(22)}$${"A".repeat(43)}`;
