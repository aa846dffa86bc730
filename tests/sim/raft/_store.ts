/**
 * Simulated storage for the Raft simulation: an in-memory log ({@linkcode MemoryEntries})
 * and a seeded disk ({@linkcode SimDisk}) that completes writes in order after a delay and,
 * on a crash, keeps only what completed — plus, sometimes, a torn prefix of the write that
 * was in progress. Mutations apply to a volatile copy at once (like a page cache) and to the
 * durable copy when they complete.
 * @module
 */

import { type Entry, type EntryStore, LogError, type MetaStore } from "../../../log/mod.ts";
import type { SeededRandom } from "../random.ts";

function outOfRange(what: string, first: number, last: number): LogError {
  return new LogError("INDEX_OUT_OF_RANGE", `Cannot read ${what}: the log holds ${first}..${last}`);
}

function payloadBytes(entry: Entry): number {
  let bytes = entry.data.byteLength;
  for (const record of entry.records) bytes += record.byteLength;
  return bytes;
}

/** A plain in-memory log with the EntryStore semantics, synchronous mutations. */
export class MemoryEntries {
  entries: Entry[] = [];
  /** Index just before the first entry, its term and the offset following it. */
  base = 0;
  baseTerm = 0;
  baseNextOffset = 0;

  firstIndex(): number {
    return this.base + 1;
  }
  lastIndex(): number {
    return this.base + this.entries.length;
  }
  nextOffset(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.baseNextOffset : last.baseOffset + last.records.length;
  }
  termAt(index: number): number {
    if (index === this.base) return this.baseTerm;
    const entry = this.entries[index - this.base - 1];
    if (entry === undefined) throw outOfRange(`term ${index}`, this.base, this.lastIndex());
    return entry.term;
  }
  read(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    if (fromIndex < this.firstIndex() || toIndex > this.lastIndex() + 1) {
      throw outOfRange(`entries ${fromIndex}..${toIndex - 1}`, this.firstIndex(), this.lastIndex());
    }
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = fromIndex; index < toIndex; index++) {
      const entry = this.entries[index - this.base - 1] as Entry;
      bytes += payloadBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }
  validateAppend(entries: readonly Entry[]): void {
    let index = this.lastIndex() + 1;
    let offset = this.nextOffset();
    for (const entry of entries) {
      if (entry.index !== index || entry.baseOffset !== offset) {
        throw new LogError(
          "INVALID_ARGUMENT",
          `Cannot append index ${entry.index} at offset ${entry.baseOffset}: expected ${index} at ${offset}`,
        );
      }
      index++;
      offset += entry.records.length;
    }
  }
  append(entries: readonly Entry[]): void {
    this.validateAppend(entries);
    this.entries.push(...entries);
  }
  truncateSuffix(fromIndex: number): void {
    if (fromIndex <= this.base) {
      throw new LogError("INVALID_ARGUMENT", `Cannot truncate from ${fromIndex}: before the start`);
    }
    this.entries.length = Math.min(this.entries.length, fromIndex - this.base - 1);
  }
  deletePrefix(beforeIndex: number): void {
    const count = Math.min(beforeIndex - this.base - 1, this.entries.length - 1);
    if (count <= 0) return;
    const last = this.entries[count - 1] as Entry;
    this.base = last.index;
    this.baseTerm = last.term;
    this.baseNextOffset = last.baseOffset + last.records.length;
    this.entries = this.entries.slice(count);
  }
  restartAt(index: number, term: number, nextOffset: number): void {
    this.entries = [];
    this.base = index;
    this.baseTerm = term;
    this.baseNextOffset = nextOffset;
  }
  clone(): MemoryEntries {
    const copy = new MemoryEntries();
    copy.entries = this.entries.slice();
    copy.base = this.base;
    copy.baseTerm = this.baseTerm;
    copy.baseNextOffset = this.baseNextOffset;
    return copy;
  }
}

interface DiskOp {
  apply(durable: DurableState): void;
  /** On a crash mid-write: apply part of the op (torn write); default nothing. */
  tear?(durable: DurableState, random: SeededRandom): void;
  resolve(): void;
  reject(error: Error): void;
}

/** What survives a crash. */
export interface DurableState {
  log: MemoryEntries;
  meta: Uint8Array | null;
}

/** Schedules a callback in simulated time (provided by the simulator). */
export type Scheduler = (delayMs: number, run: () => void) => void;

/**
 * One node's disk: a FIFO of writes completing after seeded latencies. `crash()` keeps the
 * completed writes (and maybe a torn prefix of the next) and fails the rest.
 */
export class SimDisk {
  durable: DurableState = { log: new MemoryEntries(), meta: null };
  #queue: DiskOp[] = [];
  #drainWaiters: (() => void)[] = [];
  #generation = 0;
  readonly #random: SeededRandom;
  readonly #schedule: Scheduler;

  readonly #latencyMsMax: number;

  constructor(random: SeededRandom, schedule: Scheduler, latencyMsMax: number) {
    this.#random = random;
    this.#schedule = schedule;
    this.#latencyMsMax = latencyMsMax;
  }

  /** Incremented by every crash: stores opened before it are fenced off. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Queues a write; it completes after a random latency, in order. A write from a store
   * opened before the last crash (an abandoned process) fails: it must never reach the disk.
   */
  submit(op: DiskOp, openedAt = this.#generation): void {
    if (openedAt !== this.#generation) {
      op.reject(new LogError("CLOSED", "Cannot write: this process crashed"));
      return;
    }
    this.#queue.push(op);
    const generation = this.#generation;
    const latencyMs = this.#random.chance(0.05)
      ? this.#random.intBetween(5, 20)
      : this.#random.intBetween(0, this.#latencyMsMax);
    this.#schedule(latencyMs, () => {
      if (generation === this.#generation) this.#completeOne();
    });
  }

  /** Writes submitted and not yet completed. */
  pending(): number {
    return this.#queue.length;
  }

  /** Calls `run` once every write submitted so far completed (at once if none is pending). */
  whenDrained(run: () => void): void {
    if (this.#queue.length === 0) run();
    else this.#drainWaiters.push(run);
  }

  /** Power loss: unsynced writes are lost, maybe one torn. */
  crash(): void {
    this.#generation++;
    const first = this.#queue[0];
    if (first?.tear !== undefined && this.#random.chance(0.5)) {
      first.tear(this.durable, this.#random);
    }
    const failed = this.#queue;
    this.#queue = [];
    this.#drainWaiters = [];
    for (const op of failed) op.reject(new LogError("CLOSED", "Cannot write: the node crashed"));
  }

  #completeOne(): void {
    const op = this.#queue.shift();
    if (op === undefined) return;
    op.apply(this.durable);
    op.resolve();
    if (this.#queue.length === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const run of waiters) run();
    }
  }
}

/** An EntryStore over a {@linkcode SimDisk}. Reads see the volatile copy. */
export class SimEntryStore implements EntryStore {
  readonly #disk: SimDisk;
  readonly #volatile: MemoryEntries;
  readonly #onRestart: ((index: number, nextOffset: number) => void) | undefined;

  /**
   * Opens the store over what the disk durably holds (as after a restart). `onRestart` tells
   * the simulator when the log restarts at a snapshot point (applied offsets jump there).
   */
  readonly #generation: number;

  constructor(disk: SimDisk, onRestart?: (index: number, nextOffset: number) => void) {
    this.#disk = disk;
    this.#generation = disk.generation;
    this.#volatile = disk.durable.log.clone();
    this.#onRestart = onRestart;
  }

  firstIndex(): number {
    return this.#volatile.firstIndex();
  }
  lastIndex(): number {
    return this.#volatile.lastIndex();
  }
  nextOffset(): number {
    return this.#volatile.nextOffset();
  }
  termAt(index: number): number {
    return this.#volatile.termAt(index);
  }
  entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    return this.#volatile.read(fromIndex, toIndex, bytesMax);
  }
  appendEntries(entries: readonly Entry[]): Promise<void> {
    try {
      this.#volatile.append(entries);
    } catch (error) {
      return Promise.reject(error);
    }
    const copy = entries.slice();
    return this.#submit(
      (durable) => durable.log.append(copy),
      (durable, random) => durable.log.append(copy.slice(0, random.intBelow(copy.length))),
    );
  }
  truncateSuffix(fromIndex: number): Promise<void> {
    this.#volatile.truncateSuffix(fromIndex);
    return this.#submit((durable) => durable.log.truncateSuffix(fromIndex));
  }
  deletePrefix(beforeIndex: number): Promise<void> {
    this.#volatile.deletePrefix(beforeIndex);
    return this.#submit((durable) => durable.log.deletePrefix(beforeIndex));
  }
  restartAt(index: number, term: number, nextOffset: number): Promise<void> {
    this.#volatile.restartAt(index, term, nextOffset);
    this.#onRestart?.(index, nextOffset);
    return this.#submit((durable) => durable.log.restartAt(index, term, nextOffset));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  #submit(
    apply: DiskOp["apply"],
    tear?: DiskOp["tear"],
  ): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    promise.catch(() => {}); // a crash fails pending writes; the node is gone by then
    this.#disk.submit(
      tear === undefined ? { apply, resolve, reject } : {
        apply,
        tear,
        resolve,
        reject,
      },
      this.#generation,
    );
    return promise;
  }
}

/** A MetaStore over a {@linkcode SimDisk}: replaced atomically when the write completes. */
export class SimMetaStore implements MetaStore {
  readonly #disk: SimDisk;
  #volatile: Uint8Array | null;

  readonly #generation: number;

  constructor(disk: SimDisk) {
    this.#disk = disk;
    this.#volatile = disk.durable.meta;
    this.#generation = disk.generation;
  }

  load(): Uint8Array | null {
    return this.#volatile;
  }

  save(bytes: Uint8Array): Promise<void> {
    this.#volatile = bytes;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    promise.catch(() => {});
    this.#disk.submit({
      apply: (durable) => {
        durable.meta = bytes;
      },
      resolve,
      reject,
    }, this.#generation);
    return promise;
  }
}
