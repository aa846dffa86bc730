/**
 * A seeded pseudo-random generator for deterministic simulation (SplitMix32 mixing over a
 * 32-bit state). The same seed yields the same sequence on every machine, which is what lets
 * a failing simulation print `seed=N` and replay exactly.
 *
 * Cores never import this: they declare the narrow randomness they need and the simulation
 * passes an instance of this in.
 *
 * @example
 * ```ts
 * const random = new SeededRandom(42);
 * const delayTicks = random.intBetween(1, 10);
 * ```
 * @module
 */

/** Deterministic generator seeded by a 32-bit integer. */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** An integer in [0, maxExclusive). */
  intBelow(maxExclusive: number): number {
    if (!(maxExclusive > 0)) {
      throw new RangeError(`intBelow needs a positive bound, got ${maxExclusive}`);
    }
    return Math.floor(this.next() * maxExclusive);
  }

  /** An integer in [min, max] (both inclusive). */
  intBetween(min: number, max: number): number {
    return min + this.intBelow(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A new generator whose sequence is independent of this one's future draws. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.intBelow(i + 1);
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}
