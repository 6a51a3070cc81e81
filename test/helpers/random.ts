/** A 32-bit seeded PRNG (mulberry32): generated test inputs are the same on every run, so a failure replays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded generator with the draws tests make: numbers, choices, chances, printable text. */
export class Random {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }
  /** In [0, 1). */
  float(): number {
    return this.#next();
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }
  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.#next() * values.length)]!;
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  /** Printable text of `length` characters. */
  text(length: number): string {
    let text = "";
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.int(0x20, 0x7e));
    return text;
  }
}
