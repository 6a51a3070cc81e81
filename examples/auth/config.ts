// Settings from the environment, read once at startup. The development defaults let the example run as it is;
// in production (NODE_ENV=production) the secrets must be set, or the app refuses to start.

/** What the example reads from the environment. */
export interface Settings {
  /** Signs the access tokens (`AUTH_SECRET`): anyone who knows it can sign in as anyone. */
  readonly secret: string;
  /** The key of `/admin/*` (`ADMIN_API_KEY`). */
  readonly adminKey: string;
  /** How long an access token is valid, in seconds (`TOKEN_TTL_SECONDS`). */
  readonly tokenTtlSeconds: number;
}

const DEVELOPMENT = {
  AUTH_SECRET: "dev-secret-change-me",
  ADMIN_API_KEY: "dev-admin-key",
  TOKEN_TTL_SECONDS: "1800",
} as const;

function secret(name: "AUTH_SECRET" | "ADMIN_API_KEY"): string {
  const value = process.env[name];
  if (value !== undefined && value !== "") return value;
  if (process.env.NODE_ENV === "production") {
    throw new Error(`${name} must be set in production (the development default is public)`);
  }
  return DEVELOPMENT[name];
}

function ttl(): number {
  const text = process.env.TOKEN_TTL_SECONDS || DEVELOPMENT.TOKEN_TTL_SECONDS;
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seconds) || seconds < 1) {
    throw new Error(`TOKEN_TTL_SECONDS must be a whole number of seconds above 0, got "${text}"`);
  }
  return seconds;
}

export const settings: Settings = {
  secret: secret("AUTH_SECRET"),
  adminKey: secret("ADMIN_API_KEY"),
  tokenTtlSeconds: ttl(),
};
