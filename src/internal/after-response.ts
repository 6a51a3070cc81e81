/**
 * The work that waits for a response to be done (background tasks, dependency cleanup, removing uploads): held
 * until `start()`, then run one task after another in the order added. A task added after the start (a handler
 * that finishes after its deadline answered for it) runs as soon as those before it have.
 */
export class AfterResponseQueue {
  readonly #tasks: (() => void | Promise<void>)[] = [];
  #started = false;
  #running = false;

  get size(): number {
    return this.#tasks.length;
  }

  add(task: () => void | Promise<void>): void {
    this.#tasks.push(task);
    if (this.#started && !this.#running) void this.#drain();
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#tasks.length > 0) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    // Not runInOrder: `#running` must turn false in the same step that finds the list empty, or a task added in
    // between would wait for a start that has already happened.
    for (let task = this.#tasks.shift(); task !== undefined; task = this.#tasks.shift()) {
      try {
        await task();
      } catch {
        // Tasks report their own failures; one that throws anyway must not stop the others.
      }
    }
    this.#running = false;
  }
}
