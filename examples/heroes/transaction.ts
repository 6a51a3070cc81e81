// A transaction per request, as a dependency: begun before the handler, committed once it returns and before the
// response is written, rolled back when it throws. What a success response says has happened, has.
import { dependency } from "briskjs";
import type { Database } from "./database.ts";

/** Ends a transaction that Drizzle holds open: commit (no error) or roll back (the error). */
type Finish = (error?: unknown) => void;

/**
 * Begins a transaction on `db` and resolves with it once it has begun. Drizzle runs a transaction as a callback and
 * commits when the callback's promise resolves (or rolls back when it rejects); here that promise is left pending
 * until `finish` is called, so the transaction can outlive the call that began it. `done` settles once the commit
 * or rollback has happened, and rejects when the commit fails.
 */
async function begin(db: Database): Promise<{ tx: Database; finish: Finish; done: Promise<void> }> {
  let finish!: Finish;
  let begun!: (tx: Database) => void;
  const started = new Promise<Database>((resolve) => {
    begun = resolve;
  });
  const done = db.transaction(async (tx) => {
    begun(tx);
    await new Promise<void>((resolve, reject) => {
      finish = (error) => (error === undefined ? resolve() : reject(error));
    });
  });
  // BEGIN itself may fail (the server is gone): then `done` rejects before the callback ever runs.
  const tx = await Promise.race([
    started,
    done.then(() => Promise.reject(new Error("transaction ended early"))),
  ]);
  return { tx, finish, done };
}

/**
 * The request's transaction, on the database the lifespan opened. `scope: "function"`: the commit runs when the
 * handler returns, before the response, so a failed commit is the response (a 500), and a client that reads after
 * a 200 sees the write.
 */
export const transaction = dependency({ scope: "function" }, async function* ({ state }) {
  const { tx, finish, done } = await begin(state.database.db);
  try {
    yield tx;
  } catch (error) {
    finish(error);
    await done.catch(() => {});
    throw error;
  }
  finish();
  await done;
});
