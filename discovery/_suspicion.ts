/**
 * A Lifeguard suspicion timer: it starts at `maxMs` and shrinks towards `minMs` as
 * independent members confirm the suspicion (log-scaled, as in hashicorp/memberlist), so
 * a member suspected by many is declared dead quickly, and one suspected by a single,
 * possibly slow, prober gets time to refute.
 * @module
 */

/** The state of one suspicion. */
export class Suspicion {
  readonly incarnation: number;
  readonly #startMs: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #confirmationsWanted: number;
  readonly #confirmers = new Set<string>();
  #deadlineMs: number;

  constructor(
    options: {
      incarnation: number;
      from: string;
      startMs: number;
      minMs: number;
      maxMs: number;
      confirmationsWanted: number;
    },
  ) {
    this.incarnation = options.incarnation;
    this.#startMs = options.startMs;
    this.#minMs = options.minMs;
    this.#maxMs = options.maxMs;
    this.#confirmationsWanted = options.confirmationsWanted;
    // The first accuser is not a confirmation; it is why the timer exists.
    this.#confirmers.add(options.from);
    this.#deadlineMs = this.#computeDeadlineMs();
  }

  /** When the suspected member is declared dead unless it refutes first. */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  /** Records an accusation by `from`; returns true if it is a new, independent one. */
  confirm(from: string): boolean {
    if (this.#confirmers.has(from)) return false;
    if (this.#confirmers.size - 1 >= this.#confirmationsWanted) return false;
    this.#confirmers.add(from);
    this.#deadlineMs = this.#computeDeadlineMs();
    return true;
  }

  #computeDeadlineMs(): number {
    const confirmations = this.#confirmers.size - 1;
    if (this.#confirmationsWanted <= 0) return this.#startMs + this.#minMs;
    const fraction = Math.log(confirmations + 1) / Math.log(this.#confirmationsWanted + 1);
    const timeoutMs = Math.max(this.#minMs, this.#maxMs - fraction * (this.#maxMs - this.#minMs));
    return this.#startMs + Math.floor(timeoutMs);
  }
}
