/**
 * The queue of state changes waiting to be piggybacked. One entry per member: a newer
 * change about a member replaces the older one (it supersedes it). Entries sent the fewest
 * times go first, and an entry is dropped once sent `limit` times.
 * @module
 */

import { messageSizeBytes } from "./_codec.ts";
import type { StateMessage } from "./_types.ts";

interface Entry {
  readonly message: StateMessage;
  readonly sizeBytes: number;
  /** Insertion order: among equally sent entries, newer ones go first. */
  readonly id: number;
  transmits: number;
}

/** Bounded, per-member-deduplicated queue of state changes. */
export class BroadcastQueue {
  readonly #entries = new Map<string, Entry>();
  readonly #entriesMax: number;
  #nextId = 0;

  constructor(entriesMax: number) {
    this.#entriesMax = entriesMax;
  }

  /** Number of queued state changes. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether a change about `name` is still being gossiped. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Queues `message`, replacing any older change about the same member. */
  push(message: StateMessage): void {
    this.#entries.delete(message.name);
    if (this.#entries.size >= this.#entriesMax) this.#dropMostSent();
    this.#entries.set(message.name, {
      message,
      sizeBytes: messageSizeBytes(message),
      id: this.#nextId++,
      transmits: 0,
    });
  }

  /**
   * Takes changes that fit in `budgetBytes`, least-sent first, counting one transmission
   * for each and dropping those that reached `limit`. Appends them to `into`; returns the
   * bytes used.
   */
  take(budgetBytes: number, limit: number, into: StateMessage[]): number {
    if (this.#entries.size === 0 || budgetBytes <= 0) return 0;
    const ordered = [...this.#entries.values()].sort((a, b) =>
      a.transmits - b.transmits || b.id - a.id
    );
    let usedBytes = 0;
    for (const entry of ordered) {
      if (usedBytes + entry.sizeBytes > budgetBytes) continue;
      usedBytes += entry.sizeBytes;
      into.push(entry.message);
      entry.transmits++;
      if (entry.transmits >= limit) this.#entries.delete(entry.message.name);
    }
    return usedBytes;
  }

  #dropMostSent(): void {
    let victim: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (victim === undefined || entry.transmits > victim.transmits) victim = entry;
    }
    if (victim !== undefined) this.#entries.delete(victim.message.name);
  }
}
