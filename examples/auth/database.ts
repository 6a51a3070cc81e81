// A stand-in for a database: the users and items of users.json in memory, reached through a session that the `db`
// dependency opens for each request and closes after the response, as a connection pool's would be.
import { readFileSync } from "node:fs";
import { type Dependency, dependency } from "briskjs";

/** A user as stored, password hash included: never returned as it is (the routes' response schemas filter it). */
export interface UserRecord {
  readonly username: string;
  readonly full_name: string;
  readonly email: string;
  readonly password_hash: string;
}

export interface ItemRecord {
  readonly id: number;
  readonly owner: string;
  readonly title: string;
  readonly description?: string;
}

interface Data {
  readonly users: readonly UserRecord[];
  readonly items: readonly ItemRecord[];
}

const data: Data = JSON.parse(readFileSync(new URL("./users.json", import.meta.url), "utf8"));
// A Map, so that a username such as "constructor" finds nothing rather than one of Object's own properties.
const users = new Map(data.users.map((user) => [user.username, user]));

/** Sessions opened and closed so far: equal whenever no request is in flight. */
export const sessionCounts: { opened: number; closed: number } = { opened: 0, closed: 0 };

/** One request's view of the data; using it after it is closed is a bug, and throws. */
export class Session {
  #open = true;

  constructor() {
    sessionCounts.opened++;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  user(username: string): UserRecord | undefined {
    this.#check();
    return users.get(username);
  }

  itemsOf(owner: string): ItemRecord[] {
    this.#check();
    return data.items.filter((item) => item.owner === owner);
  }

  counts(): { users: number; items: number } {
    this.#check();
    return { users: users.size, items: data.items.length };
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    sessionCounts.closed++;
  }

  #check(): void {
    if (!this.#open) throw new Error("The session is closed");
  }
}

/** A session per request, closed once the response has been sent, whether the request succeeded or not. */
export const db: Dependency<Session> = dependency(async function* () {
  const session = new Session();
  try {
    yield session;
  } finally {
    session.close();
  }
});
