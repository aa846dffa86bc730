/**
 * Wakes tailing consumers when the log grows: an event, never a poll.
 * @module
 */

/**
 * Tracks consumers waiting for an offset to become readable. The log's owner calls
 * {@linkcode OffsetWaiters.notify} after each append resolves (and on close).
 *
 * @example
 * ```ts
 * const waiters = new OffsetWaiters(() => log.nextOffset());
 * await log.append([value]);
 * waiters.notify();
 * ```
 */
export class OffsetWaiters {
  readonly #nextOffset: () => number;
  readonly #waiting = new Set<{ offset: number; wake: () => void }>();
  #closed = false;

  /** `nextOffset` tells what is readable now (the log's, or the commit index's). */
  constructor(nextOffset: () => number) {
    this.#nextOffset = nextOffset;
  }

  /** How many consumers are waiting (for tests and metrics). */
  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves once `nextOffset() > offset`, or on abort, or after {@linkcode close}. */
  wait(offset: number, signal: AbortSignal): Promise<void> {
    if (this.#closed || signal.aborted || this.#nextOffset() > offset) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        offset,
        wake: () => {
          this.#waiting.delete(waiter);
          signal.removeEventListener("abort", waiter.wake);
          resolve();
        },
      };
      this.#waiting.add(waiter);
      signal.addEventListener("abort", waiter.wake, { once: true });
    });
  }

  /** Wakes every waiter whose offset is now readable. */
  notify(): void {
    const next = this.#nextOffset();
    for (const waiter of [...this.#waiting]) if (next > waiter.offset) waiter.wake();
  }

  /** Wakes everyone for good (the log is closing). */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waiting]) waiter.wake();
  }
}
