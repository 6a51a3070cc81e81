// Chat rooms kept in PostgreSQL, so that any number of processes serve one chat. A message is stored and announced
// with NOTIFY in one transaction; every process LISTENs on one connection of its own and hands each message to the
// room's WebSockets and event streams it serves. A subscriber that reconnects gets what it missed from the table.
import type { Logger, WebSocketGroup } from "briskjs";
import pg from "pg";
import { Audience } from "./audience.ts";
import { KEPT, type Room, type Rooms, roomNamed, type StoredMessage } from "./rooms.ts";

/** The NOTIFY channel: one for every room, each notification naming its room. */
const CHANNEL = "chat_messages";

// Processes that start together must not create the tables at the same time (CREATE TABLE IF NOT EXISTS can
// fail when another transaction creates the same table): each takes the same advisory lock first, until its
// transaction ends. A query of several statements without parameters is one transaction.
const CREATE_TABLES = `
  SELECT pg_advisory_xact_lock(hashtext('examples/chat tables'));
  CREATE TABLE IF NOT EXISTS chat_rooms (
    name text PRIMARY KEY,
    last_id integer NOT NULL
  );
  CREATE TABLE IF NOT EXISTS chat_messages (
    room text NOT NULL REFERENCES chat_rooms,
    id integer NOT NULL,
    author text NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (room, id)
  );
`;

// One statement, so one transaction. Counting the message in its room's row locks that row until the transaction
// commits: a room's messages commit one at a time, in the order of their ids, and PostgreSQL delivers
// notifications in commit order. The room keeps its last KEPT messages.
const POST = `
  WITH counted AS (
    INSERT INTO chat_rooms AS r (name, last_id) VALUES ($1, 1)
    ON CONFLICT (name) DO UPDATE SET last_id = r.last_id + 1
    RETURNING last_id AS id
  ),
  stored AS (
    INSERT INTO chat_messages (room, id, author, text) SELECT $1, id, $2, $3 FROM counted
    RETURNING id, author AS "user", text
  ),
  forgotten AS (
    DELETE FROM chat_messages WHERE room = $1 AND id <= (SELECT id FROM counted) - ${KEPT}
  )
  SELECT id, "user", text,
    pg_notify('${CHANNEL}', json_build_object('room', $1::text, 'id', id, 'user', "user", 'text', text)::text)
  FROM stored
`;

// Last-Event-ID may be any safe integer, past an integer's range: compared as a bigint.
const MISSED = `
  SELECT id, author AS "user", text FROM chat_messages WHERE room = $1 AND id > $2::bigint ORDER BY id
`;

class PostgresRoom implements Room {
  readonly audience: Audience = new Audience();
  readonly sockets: WebSocketGroup<StoredMessage> = this.audience.sockets;
  readonly #name: string;
  readonly #pool: pg.Pool;

  constructor(name: string, pool: pg.Pool) {
    this.#name = name;
    this.#pool = pool;
  }

  async post(user: string, text: string): Promise<StoredMessage> {
    // Sent to this room's audience, here and in every other process, by the notification.
    const { rows } = await this.#pool.query<StoredMessage>(POST, [this.#name, user, text]);
    const { id } = rows[0]!;
    return { id, user, text };
  }

  subscribe(afterId: number | undefined, signal: AbortSignal): AsyncGenerator<StoredMessage> {
    const missed = async () =>
      afterId === undefined
        ? []
        : (await this.#pool.query<StoredMessage>(MISSED, [this.#name, afterId])).rows;
    return this.audience.stream(missed, signal);
  }
}

export class PostgresRooms implements Rooms {
  readonly #pool: pg.Pool;
  readonly #listener: pg.Client;
  readonly #rooms = new Map<string, PostgresRoom>();

  private constructor(pool: pg.Pool, listener: pg.Client) {
    this.#pool = pool;
    this.#listener = listener;
    listener.on("notification", ({ payload }) => {
      // Anyone with access to the database may NOTIFY on the channel: what is not one of ours is dropped.
      let parsed: StoredMessage & { room: string };
      try {
        parsed = JSON.parse(payload ?? "");
      } catch {
        return;
      }
      if (typeof parsed?.room !== "string" || typeof parsed.id !== "number") return;
      const { room, ...message } = parsed;
      this.#rooms.get(room)?.audience.deliver(message);
    });
  }

  /** Creates the tables if need be, and LISTENs; `logger` hears of connections that break. */
  static async open(url: string, logger: Logger): Promise<PostgresRooms> {
    const pool = new pg.Pool({ connectionString: url });
    // An idle connection that breaks (the server restarted) is dropped by the pool, which opens another when needed.
    pool.on("error", (error) => logger.error("an idle connection of the chat's pool broke", error));
    const listener = new pg.Client({ connectionString: url, application_name: "chat listener" });
    try {
      await pool.query(CREATE_TABLES);
      await listener.connect();
      await listener.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await listener.end().catch(() => {});
      await pool.end();
      throw error;
    }
    // Notifications sent while the connection is down are lost, and the process cannot tell which: rather than
    // leave its subscribers short of messages without a word, it fails. `brisk serve` takes the exception as it
    // takes any uncaught one: it finishes in-flight requests, closes the streams and sockets, and exits with 1;
    // `--workers` (or a service manager) starts a fresh process, and reconnecting event streams get what they
    // missed from the table.
    let lost = false;
    listener.on("error", (error) => {
      // pg may report one loss twice: the server's reason, then the end of the connection.
      if (lost) return;
      lost = true;
      const lostWhy = `the chat lost its PostgreSQL connection that LISTENs for messages: ${error.message}`;
      throw new Error(lostWhy, { cause: error });
    });
    return new PostgresRooms(pool, listener);
  }

  room(name: string): Room | undefined {
    return roomNamed(this.#rooms, name, () => new PostgresRoom(name, this.#pool));
  }

  async close(): Promise<void> {
    await this.#listener.end();
    await this.#pool.end();
  }
}
