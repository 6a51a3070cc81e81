import type { App } from "./app.ts";
import { BriskError } from "./errors.ts";

/**
 * What the app's lifespan yields, reaching handlers and dependencies as `state`. Empty until the application says
 * what it holds, by augmenting this interface:
 *
 * @example
 * declare module "briskjs" {
 *   interface State { db: Pool }
 * }
 * const app = new App({ lifespan: async function* () { const db = await connect(); yield { db }; await db.end(); } });
 * app.get("/users", {}, ({ state }) => state.db.query("select ..."));
 */
// biome-ignore lint/suspicious/noEmptyInterface: applications augment it
export interface State {}

/**
 * Startup and shutdown as one generator: the code before `yield` runs before the server accepts requests, what
 * it yields is the state, and the code after runs at shutdown, once in-flight requests have finished.
 */
export type Lifespan = (
  app: App,
) =>
  | AsyncGenerator<Partial<State> | undefined, void, unknown>
  | Generator<Partial<State> | undefined, void, unknown>;

/** The lifespans of an app and its routers, run in order at startup and in reverse at shutdown. */
export class LifespanRunner {
  readonly #lifespans: Lifespan[] = [];
  readonly #running: (AsyncGenerator<unknown, void, unknown> | Generator<unknown, void, unknown>)[] = [];
  #state: State | undefined;
  #phase: "stopped" | "starting" | "started" | "stopping" = "stopped";
  #starting: Promise<State> | undefined;

  add(lifespan: Lifespan): void {
    if (typeof lifespan !== "function") {
      throw new BriskError(
        "BRISK_INVALID_OPTION",
        "lifespan must be a generator function: async function* (app) { ... }",
      );
    }
    this.#lifespans.push(lifespan);
  }

  get defined(): boolean {
    return this.#lifespans.length > 0;
  }

  /** The state, once started; undefined before. */
  get state(): State | undefined {
    return this.#state;
  }

  /** Runs every lifespan up to its `yield`. If one fails, those already started are shut down and it rethrows. */
  start(app: App): Promise<State> {
    if (this.#phase === "started") return Promise.resolve(this.#state!);
    // A second call while starting waits for the same startup.
    this.#starting ??= this.#start(app).finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(app: App): Promise<State> {
    this.#phase = "starting";
    const state: Record<string, unknown> = {};
    try {
      for (const lifespan of this.#lifespans) {
        const generator = lifespan(app);
        if (typeof generator?.next !== "function") {
          throw new BriskError(
            "BRISK_INVALID_OPTION",
            "lifespan must be a generator function: async function* (app) { ... }",
          );
        }
        this.#running.push(generator);
        const first = await generator.next();
        if (first.done) {
          throw new BriskError(
            "BRISK_INVALID_OPTION",
            "a lifespan returned without yielding: it must yield once",
          );
        }
        if (first.value !== undefined && first.value !== null) Object.assign(state, first.value);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    // What the lifespans yielded, merged: the app's augmentation of State says what that is.
    this.#state = state as unknown as State;
    this.#phase = "started";
    return this.#state;
  }

  /** Runs the code after each `yield`, the last started first; every one runs even if another fails. */
  async stop(): Promise<void> {
    if (this.#phase === "stopped" && this.#running.length === 0) return;
    this.#phase = "stopping";
    const errors: unknown[] = [];
    for (const generator of this.#running.splice(0).reverse()) {
      try {
        await generator.next();
      } catch (error) {
        errors.push(error);
      }
    }
    this.#state = undefined;
    this.#phase = "stopped";
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "several lifespans failed to shut down");
  }
}
