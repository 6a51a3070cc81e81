// Deadlines for asynchronous work that all share one duration (a handler's time to answer). Entries expire in the
// order they were added, so they wait in a queue checked by one timer, rather than each request arming and
// clearing a timer of its own. A deadline fires up to `granularity` late.
//
// The queue is a doubly linked list, and work that settles unlinks its entry at once. An array cleared only by the
// timer kept every settled entry up to a second: at tens of thousands of requests a second, enough of them to
// reach the old generation, which made every scavenge slower and added full collections (about 35 MB of resident
// memory and a third of the p99 on the database bench).

interface Entry {
  readonly expires: number;
  /** Called on expiry. */
  readonly fire: () => void;
  previous: Entry | undefined;
  next: Entry | undefined;
  /** Whether the entry is still in the queue (neither settled nor expired). */
  queued: boolean;
}

export class Deadlines {
  readonly #duration: number;
  readonly #granularity: number;
  /** The entry that expires first. */
  #head: Entry | undefined;
  /** The entry added last, which expires last. */
  #tail: Entry | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(duration: number, granularity: number = Math.min(1000, duration)) {
    this.#duration = duration;
    this.#granularity = granularity;
  }

  /**
   * Settles with `work`'s outcome, or with `expired()`'s result once the duration has passed first. The work is
   * not stopped (it cannot be): `expired` tells it to (an abort signal), and its outcome is then dropped.
   */
  watch<T>(work: Promise<T>, expired: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        expires: performance.now() + this.#duration,
        fire: () => {
          try {
            resolve(expired());
          } catch (error) {
            reject(error);
          }
        },
        previous: this.#tail,
        next: undefined,
        queued: true,
      };
      if (this.#tail === undefined) this.#head = entry;
      else this.#tail.next = entry;
      this.#tail = entry;
      // Not unref'd: work is pending while it runs (the interval stops once nothing is watched).
      this.#timer ??= setInterval(() => this.#check(), this.#granularity);
      work.then(
        (value) => {
          if (!entry.queued) return;
          this.#unlink(entry);
          resolve(value);
        },
        (error: unknown) => {
          if (!entry.queued) return;
          this.#unlink(entry);
          reject(error);
        },
      );
    });
  }

  #unlink(entry: Entry): void {
    entry.queued = false;
    if (entry.previous === undefined) this.#head = entry.next;
    else entry.previous.next = entry.next;
    if (entry.next === undefined) this.#tail = entry.previous;
    else entry.next.previous = entry.previous;
    entry.previous = undefined;
    entry.next = undefined;
    if (this.#head === undefined) this.#stop();
  }

  #check(): void {
    const now = performance.now();
    while (this.#head !== undefined && this.#head.expires <= now) {
      const entry = this.#head;
      this.#unlink(entry);
      entry.fire();
    }
  }

  /** Nothing left to watch: the timer stops until the next entry. */
  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
