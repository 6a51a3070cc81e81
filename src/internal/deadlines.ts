// Deadlines for asynchronous work that all share one duration (a handler's time to answer). Entries expire in the
// order they were added, so they wait in a queue checked by one timer, rather than each request arming and
// clearing a timer of its own. A deadline fires up to `granularity` late.

interface Entry {
  readonly expires: number;
  /** Called on expiry; cleared once the work settles. */
  fire: (() => void) | undefined;
}

export class Deadlines {
  readonly #duration: number;
  readonly #granularity: number;
  #queue: Entry[] = [];
  #head = 0;
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
      };
      this.#queue.push(entry);
      // Not unref'd: work is pending while it runs (the interval stops once nothing is watched).
      this.#timer ??= setInterval(() => this.#check(), this.#granularity);
      work.then(
        (value) => {
          if (entry.fire === undefined) return;
          entry.fire = undefined;
          resolve(value);
        },
        (error: unknown) => {
          if (entry.fire === undefined) return;
          entry.fire = undefined;
          reject(error);
        },
      );
    });
  }

  #check(): void {
    const now = performance.now();
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head]!;
      if (entry.fire !== undefined && entry.expires > now) break;
      this.#head++;
      const fire = entry.fire;
      entry.fire = undefined;
      fire?.();
    }
    if (this.#head === queue.length) {
      // Nothing left to watch: the timer stops until the next entry.
      this.#queue = [];
      this.#head = 0;
      clearInterval(this.#timer);
      this.#timer = undefined;
    } else if (queue.length - this.#head > 4096) {
      // Work that finished behind a long one ahead of it is dropped now, not when that one expires.
      this.#queue = queue.slice(this.#head).filter((entry) => entry.fire !== undefined);
      this.#head = 0;
    }
  }
}
