/**
 * The core's view of its log: the durable {@linkcode EntryStore} plus an in-memory suffix of
 * entries that are not yet known to be durable ("unstable", as in etcd). The core reads
 * synchronously; the driver persists what {@linkcode RaftLog.takePersist} hands it and then
 * reports back with {@linkcode RaftLog.stableTo}. Only indexes below `unstableOffset` are
 * ever read from the store, so the store may be mid-write while the core keeps stepping.
 * Entries just made durable stay in memory too (a bounded "recent" window): applying them
 * and sending them to followers then never reads the store back (a pread, a decode and a
 * checksum per entry, on the path of every acknowledgement). Once an entry is applied here
 * and (on a leader) held by every follower, it leaves the window: an entry is hundreds of
 * objects (a view per record), and keeping 8 MiB of them alive made every young-generation
 * collection copy them (~40 % of a follower's CPU per replicated batch went to the GC).
 * @module
 */

import { type Entry, type EntryStore, LogError } from "../log/mod.ts";

/** What the driver must do to the store, in this order, before acknowledging anything. */
export interface PersistWork {
  /** Restart the log after `index` (InstallSnapshot), before anything else. */
  readonly restart:
    | { readonly index: number; readonly term: number; readonly nextOffset: number }
    | null;
  /** Remove entries with index >= this (a conflicting uncommitted suffix). */
  readonly truncateFrom: number | null;
  /** Entries to append, contiguous. */
  readonly entries: readonly Entry[];
}

/** The offset following an entry's records. */
export function offsetAfter(entry: Entry): number {
  return entry.baseOffset + entry.records.length;
}

/** The payload bytes of an entry, as used for batching limits. */
export function entryBytes(entry: Entry): number {
  let bytes = entry.data.byteLength;
  for (const record of entry.records) bytes += record.byteLength;
  return bytes;
}

/**
 * Payload bytes of durable entries kept in memory after they became stable (at least the last
 * one is kept). It covers a leader's in-flight window to a follower (8 MiB by default), so
 * entries still unacknowledged by a follower are resent from memory too.
 */
export const RECENT_BYTES_MAX = 8 << 20;

/**
 * Payload bytes of entries nobody needs any more (applied, and held by every follower) that
 * the recent window still keeps: a follower that rejects an append and probes a little way
 * back still finds them in memory.
 */
export const RECENT_RELEASED_BYTES_MAX = 128 << 10;

/** Durable store + unstable suffix + commit/apply cursors. */
export class RaftLog {
  readonly #store: EntryStore;
  /** Durable entries just below `#unstableOffset`, the same as the store holds there. */
  #recent: Entry[] = [];
  /** Payload bytes of each recent entry (summing 500 record lengths again costs). */
  #recentSizes: number[] = [];
  #recentBytes = 0;
  /** How many of the oldest recent entries are released, and their bytes. */
  #releasedCount = 0;
  #releasedBytes = 0;
  #unstable: Entry[] = [];
  #unstableOffset: number;
  /** Last unstable index already handed to the driver (its write may be in flight). */
  #handedThrough: number;
  #truncateFrom: number | null = null;
  #restart: PersistWork["restart"] = null;
  /** The latest restart point: its term stays readable even before the store catches up. */
  #floor: { index: number; term: number } | null = null;
  #stableNextOffset: number;
  /** Highest index known committed. */
  committed: number;
  #applied: number;
  /** Set by a leader: followers may still need entries from this index (null: none). */
  #retainFrom: number | null = null;

  constructor(store: EntryStore) {
    this.#store = store;
    this.#unstableOffset = store.lastIndex() + 1;
    this.#handedThrough = store.lastIndex();
    this.#stableNextOffset = store.nextOffset();
    this.committed = store.firstIndex() - 1;
    this.#applied = this.committed;
  }

  /** Highest index handed out for applying. */
  get applied(): number {
    return this.#applied;
  }

  set applied(index: number) {
    this.#applied = index;
    this.#trimRecent();
  }

  /**
   * A leader tells which entries its followers may still need (from `index` on; null when
   * it leads no more): the recent window keeps them, and lets go of older applied ones.
   */
  retainFrom(index: number | null): void {
    this.#retainFrom = index;
    this.#trimRecent();
  }

  /** First index still present. */
  firstIndex(): number {
    const stored = this.#store.firstIndex();
    return this.#floor === null ? stored : Math.max(stored, this.#floor.index + 1);
  }

  /** Last index, including unstable entries. */
  lastIndex(): number {
    return this.#unstableOffset + this.#unstable.length - 1;
  }

  /** Last index known durable in the store. */
  stableLastIndex(): number {
    return this.#unstableOffset - 1;
  }

  /** Term of the last entry. */
  lastTerm(): number {
    return this.termAt(this.lastIndex());
  }

  /** The offset the next record will get. */
  nextOffset(): number {
    const last = this.#unstable[this.#unstable.length - 1];
    return last === undefined ? this.#stableNextOffset : offsetAfter(last);
  }

  /** Term at `index`, or null when the index is compacted away or beyond the end. */
  termOrNull(index: number): number | null {
    if (index > this.lastIndex() || index < this.firstIndex() - 1) return null;
    const recentOffset = this.#recentOffset();
    if (index >= recentOffset) return this.#inMemory(index, recentOffset).term;
    if (this.#floor !== null && index === this.#floor.index) return this.#floor.term;
    return this.#store.termAt(index);
  }

  /** Term at `index`; throws `INDEX_OUT_OF_RANGE` when unknown. */
  termAt(index: number): number {
    const term = this.termOrNull(index);
    if (term === null) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot read the term of index ${index}: the log holds ${
          this.firstIndex() - 1
        }..${this.lastIndex()}`,
      );
    }
    return term;
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [fromIndex, toIndex), at most `bytesMax` payload bytes but at least one. */
  entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    if (fromIndex < this.firstIndex() || toIndex > this.lastIndex() + 1) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot read entries ${fromIndex}..${
          toIndex - 1
        }: the log holds ${this.firstIndex()}..${this.lastIndex()}`,
      );
    }
    const result: Entry[] = [];
    let bytes = 0;
    const recentOffset = this.#recentOffset();
    const storeEnd = Math.min(toIndex, recentOffset);
    if (fromIndex < storeEnd) {
      const stored = this.#store.entries(fromIndex, storeEnd, bytesMax);
      for (const entry of stored) bytes += entryBytes(entry);
      result.push(...stored);
      if (result.length < storeEnd - fromIndex) return result;
    }
    for (let index = Math.max(fromIndex, recentOffset); index < toIndex; index++) {
      const entry = this.#inMemory(index, recentOffset);
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /** First index of the recent window (= `#unstableOffset` when it is empty). */
  #recentOffset(): number {
    return this.#unstableOffset - this.#recent.length;
  }

  /** The entry at `index`, which lies in the recent window or the unstable suffix. */
  #inMemory(index: number, recentOffset: number): Entry {
    return (index < this.#unstableOffset
      ? this.#recent[index - recentOffset]
      : this.#unstable[index - this.#unstableOffset]) as Entry;
  }

  /** Drops the recent window (its entries are read from the store again). */
  #forgetRecent(): void {
    this.#recent = [];
    this.#recentSizes = [];
    this.#recentBytes = 0;
    this.#releasedCount = 0;
    this.#releasedBytes = 0;
  }

  /** Appends entries that continue the log exactly. */
  append(entries: readonly Entry[]): void {
    let expected = this.lastIndex() + 1;
    for (const entry of entries) {
      if (entry.index !== expected) {
        throw new Error(`Cannot append index ${entry.index}: the log expects ${expected}`);
      }
      expected++;
    }
    this.#unstable.push(...entries);
  }

  /**
   * Removes every entry with index >= `fromIndex`. Committed entries are never removed: that
   * would be a safety violation, so it is an assertion, not an error.
   */
  truncate(fromIndex: number): void {
    if (fromIndex <= this.committed) {
      throw new Error(`Cannot truncate from ${fromIndex}: index ${this.committed} is committed`);
    }
    if (fromIndex > this.lastIndex()) return;
    if (fromIndex >= this.#unstableOffset) {
      this.#unstable.length = fromIndex - this.#unstableOffset;
    } else {
      const first = this.entries(fromIndex, fromIndex + 1, 0)[0] as Entry;
      this.#stableNextOffset = first.baseOffset;
      this.#unstable = [];
      // The recent window keeps only what lies below the cut, so it still ends at the offset.
      const keep = Math.max(0, fromIndex - this.#recentOffset());
      this.#recent.splice(keep);
      for (const size of this.#recentSizes.splice(keep)) this.#recentBytes -= size;
      this.#releasedCount = Math.min(this.#releasedCount, keep);
      this.#releasedBytes = this.#sizesOf(0, this.#releasedCount);
      this.#unstableOffset = fromIndex;
    }
    if (fromIndex <= this.#handedThrough) {
      this.#truncateFrom = Math.min(this.#truncateFrom ?? fromIndex, fromIndex);
      this.#handedThrough = fromIndex - 1;
    }
  }

  /** Discards everything and restarts after `index` (InstallSnapshot). */
  restart(index: number, term: number, nextOffset: number): void {
    this.#forgetRecent();
    this.#unstable = [];
    this.#unstableOffset = index + 1;
    this.#handedThrough = index;
    this.#truncateFrom = null;
    this.#restart = { index, term, nextOffset };
    this.#floor = { index, term };
    this.#stableNextOffset = nextOffset;
    this.committed = Math.max(this.committed, index);
    this.#applied = Math.max(this.#applied, index);
  }

  /** Whether there is anything for the driver to persist. */
  hasPersistWork(): boolean {
    return this.#restart !== null || this.#truncateFrom !== null ||
      this.lastIndex() > this.#handedThrough;
  }

  /** Hands the pending storage work to the driver. */
  takePersist(): PersistWork {
    const work: PersistWork = {
      restart: this.#restart,
      truncateFrom: this.#truncateFrom,
      entries: this.#unstable.slice(this.#handedThrough + 1 - this.#unstableOffset),
    };
    this.#restart = null;
    this.#truncateFrom = null;
    this.#handedThrough = this.lastIndex();
    return work;
  }

  /** The driver made entries up to `index` durable; those not replaced since become stable. */
  stableTo(index: number): void {
    const through = Math.min(index, this.#handedThrough);
    if (through < this.#unstableOffset) return;
    const count = through - this.#unstableOffset + 1;
    this.#stableNextOffset = offsetAfter(this.#unstable[count - 1] as Entry);
    for (const entry of this.#unstable.splice(0, count)) {
      const size = entryBytes(entry);
      this.#recent.push(entry);
      this.#recentSizes.push(size);
      this.#recentBytes += size;
    }
    this.#unstableOffset = through + 1;
    this.#trimRecent();
  }

  /**
   * Drops the oldest recent entries (they are read from the store if needed again) while the
   * window exceeds its bound, or while they are released (applied, and below what a leader
   * retains) and more than {@linkcode RECENT_RELEASED_BYTES_MAX} of released ones remain.
   * The last durable entry always stays.
   */
  #trimRecent(): void {
    const releasedBelow = Math.min(this.#applied + 1, this.#retainFrom ?? Infinity);
    const last = this.#recent.length - 1;
    // Released entries are a prefix of the window; the cursor moves by what changed since.
    let released = Math.min(this.#releasedCount, Math.max(0, last));
    let releasedBytes = this.#releasedBytes;
    if (released !== this.#releasedCount) releasedBytes = this.#sizesOf(0, released);
    while (released > 0 && (this.#recent[released - 1] as Entry).index >= releasedBelow) {
      released--;
      releasedBytes -= this.#recentSizes[released] as number;
    }
    while (released < last && (this.#recent[released] as Entry).index < releasedBelow) {
      releasedBytes += this.#recentSizes[released] as number;
      released++;
    }
    let drop = 0;
    while (drop < last) {
      const spare = drop < released && releasedBytes > RECENT_RELEASED_BYTES_MAX;
      if (this.#recentBytes <= RECENT_BYTES_MAX && !spare) break;
      const size = this.#recentSizes[drop] as number;
      this.#recentBytes -= size;
      if (drop < released) releasedBytes -= size;
      drop++;
    }
    if (drop > 0) {
      this.#recent.splice(0, drop);
      this.#recentSizes.splice(0, drop);
    }
    this.#releasedCount = Math.max(0, released - drop);
    this.#releasedBytes = this.#releasedCount === 0 ? 0 : releasedBytes;
  }

  #sizesOf(from: number, to: number): number {
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += this.#recentSizes[i] as number;
    return bytes;
  }

  /** Committed, durable entries not yet handed out for applying (at most `bytesMax`). */
  nextToApply(bytesMax: number): Entry[] {
    const to = Math.min(this.committed, this.stableLastIndex());
    if (to <= this.applied) return [];
    return this.entries(Math.max(this.applied + 1, this.firstIndex()), to + 1, bytesMax);
  }
}
