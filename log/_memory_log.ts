/**
 * {@linkcode MemoryLog}: the same contract as the file log, held in memory — for Raft's unit
 * tests and deterministic simulation, where disks are simulated elsewhere.
 * @module
 */

import { payloadBytes } from "./_codec.ts";
import {
  advance,
  checkEntries,
  checkRecords,
  checkRecordsData,
  entryAt,
  type Tail,
} from "./_group_commit.ts";
import { type LogOptions, type ResolvedLogOptions, resolveLogOptions } from "./_options.ts";
import {
  type AppendResult,
  type Entry,
  EntryKind,
  type EntryStore,
  LogError,
  type LogRecord,
  type LogStats,
  type RecordLog,
} from "./types.ts";

/** Limits of a {@linkcode MemoryLog} (the same meaning and defaults as the file log's). */
export type MemoryLogOptions = Pick<LogOptions, "recordBytesMax" | "batchBytesMax">;

/**
 * An in-memory log. Mutations take effect at once (in call order) and resolve on a microtask.
 *
 * @example
 * ```ts
 * const log = new MemoryLog();
 * await log.append([new Uint8Array([1, 2, 3])]);
 * log.read(0).value; // Uint8Array [1, 2, 3]
 * ```
 */
export class MemoryLog implements EntryStore, RecordLog {
  readonly #options: ResolvedLogOptions;
  #entries: Entry[] = [];
  /** Index of `#entries[0]` (or of the next entry when empty). */
  #firstIndex = 1;
  /** Term of entry `#firstIndex - 1`. */
  #prevTerm = 0;
  /** Offset of the first retained record (or the next offset when no entry is held). */
  #firstOffset = 0;
  #closed = false;

  /** Creates an empty log (first index 1, first offset 0). */
  constructor(options: MemoryLogOptions = {}) {
    this.#options = resolveLogOptions(options);
  }

  /** First retained entry index. */
  firstIndex(): number {
    this.#checkOpen();
    return this.#firstIndex;
  }

  /** Last entry index (firstIndex() - 1 when empty). */
  lastIndex(): number {
    this.#checkOpen();
    return this.#firstIndex + this.#entries.length - 1;
  }

  /** First retained record offset. */
  firstOffset(): number {
    this.#checkOpen();
    return this.#entries[0]?.baseOffset ?? this.#firstOffset;
  }

  /** Offset the next record will get. */
  nextOffset(): number {
    return this.#tail().nextOffset;
  }

  /** Term of entry `index`, for firstIndex() - 1 <= index <= lastIndex(). */
  termAt(index: number): number {
    const last = this.lastIndex();
    if (!Number.isSafeInteger(index) || index < this.#firstIndex - 1 || index > last) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot get the term of entry ${index}: the log knows terms of entries ` +
          `${this.#firstIndex - 1} to ${last}`,
      );
    }
    return index === this.#firstIndex - 1 ? this.#prevTerm : this.#at(index).term;
  }

  /** Entries [fromIndex, toIndex) within `bytesMax` payload bytes (at least one). */
  entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    const last = this.lastIndex();
    const valid = Number.isSafeInteger(fromIndex) && Number.isSafeInteger(toIndex) &&
      this.#firstIndex <= fromIndex && fromIndex <= toIndex && toIndex <= last + 1;
    if (!valid) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot read entries ${fromIndex} to ${toIndex - 1}: the log holds entries ` +
          `${this.#firstIndex} to ${last}`,
      );
    }
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = fromIndex; index < toIndex; index++) {
      const entry = this.#at(index);
      const size = payloadBytes(entry);
      if (result.length > 0 && bytes + size > bytesMax) break;
      result.push(entry);
      bytes += size;
    }
    return result;
  }

  /** The record at `offset`; `OFFSET_OUT_OF_RANGE` names the valid range. */
  read(offset: number): LogRecord {
    this.#checkOffset(offset, false);
    const entry = this.#entryOfOffset(offset);
    return { value: entry.records[offset - entry.baseOffset]!, offset, term: entry.term };
  }

  /** Records from `offset` within `bytesMax` value bytes (at least one); `[]` at nextOffset(). */
  readFrom(offset: number, bytesMax: number): LogRecord[] {
    this.#checkOffset(offset, true);
    const result: LogRecord[] = [];
    if (offset === this.nextOffset()) return result;
    let bytes = 0;
    const start = this.#entries.indexOf(this.#entryOfOffset(offset));
    for (const entry of this.#entries.slice(start)) {
      for (let i = Math.max(0, offset - entry.baseOffset); i < entry.records.length; i++) {
        const value = entry.records[i]!;
        if (result.length > 0 && bytes + value.length > bytesMax) return result;
        result.push({ value, offset: entry.baseOffset + i, term: entry.term });
        bytes += value.length;
      }
    }
    return result;
  }

  /** Sizes and bounds (bytes are the payload bytes held). */
  stats(): LogStats {
    let bytes = 0;
    for (const entry of this.#entries) bytes += payloadBytes(entry);
    return {
      bytes,
      segments: 1,
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      firstOffset: this.firstOffset(),
      nextOffset: this.nextOffset(),
    };
  }

  /** Appends one entry holding `records`; resolves on a microtask. */
  append(
    records: readonly Uint8Array[],
    options?: { term?: number; data?: Uint8Array },
  ): Promise<AppendResult> {
    return this.#mutate(() => {
      checkRecords(records, this.#options);
      checkRecordsData(options?.data);
      const data = options?.data;
      const request = {
        kind: "records",
        records,
        term: options?.term,
        ...(data === undefined ? {} : { data }),
      } as const;
      const entry = entryAt({ ...request, resolve: noop, reject: noop }, this.#tail());
      if (entry instanceof LogError) throw entry;
      this.#entries.push(entry);
      return { baseOffset: entry.baseOffset, index: entry.index };
    });
  }

  /** Appends entries continuing lastIndex()/nextOffset() (copied), or rejects them all. */
  appendEntries(entries: readonly Entry[]): Promise<void> {
    return this.#mutate(() => {
      checkEntries(entries, this.#options);
      const tail = this.#tail();
      const call = { failed: false };
      for (const entry of entries) {
        const checked = entryAt({ kind: "entry", entry, call, resolve: null, reject: noop }, tail);
        if (checked instanceof LogError) throw checked;
        advance(tail, entry);
      }
      // Copies: the caller may reuse its arrays, and stored entries must never change.
      for (const entry of entries) this.#entries.push(copyEntry(entry));
    });
  }

  /** Removes entries with index >= `fromIndex`; offsets roll back. */
  truncateSuffix(fromIndex: number): Promise<void> {
    return this.#mutate(() => {
      const last = this.lastIndex();
      if (
        !Number.isSafeInteger(fromIndex) || fromIndex < this.#firstIndex || fromIndex > last + 1
      ) {
        throw new LogError(
          "INDEX_OUT_OF_RANGE",
          `Cannot truncate from entry ${fromIndex}: the log holds entries ${this.#firstIndex} to ${last}`,
        );
      }
      if (this.#entries.length > 0 && fromIndex === this.#firstIndex) {
        this.#firstOffset = this.#entries[0]!.baseOffset;
      }
      this.#entries.length = fromIndex - this.#firstIndex;
    });
  }

  /** Removes the entries below `beforeIndex` (each entry is its own "segment" here). */
  deletePrefix(beforeIndex: number): Promise<void> {
    return this.#mutate(() => {
      const count = Math.min(beforeIndex - this.#firstIndex, this.#entries.length);
      if (!(count > 0)) return;
      const tail = this.#tail();
      this.#prevTerm = this.#at(this.#firstIndex + count - 1).term;
      this.#entries = this.#entries.slice(count);
      this.#firstIndex += count;
      if (this.#entries.length === 0) this.#firstOffset = tail.nextOffset;
    });
  }

  /** Discards everything; the next entry gets index `index + 1` and offset `nextOffset`. */
  restartAt(index: number, term: number, nextOffset: number): Promise<void> {
    return this.#mutate(() => {
      const valid = [index, term, nextOffset].every((n) => Number.isSafeInteger(n) && n >= 0);
      if (!valid) {
        throw new LogError(
          "INVALID_ARGUMENT",
          `Cannot restart at index ${index}, term ${term}, offset ${nextOffset}: ` +
            `each must be a non-negative integer`,
        );
      }
      this.#entries = [];
      this.#firstIndex = index + 1;
      this.#prevTerm = term;
      this.#firstOffset = nextOffset;
    });
  }

  /** Nothing to retain by: a no-op kept so both logs offer the same operations. */
  enforceRetention(): Promise<void> {
    return this.#mutate(() => {});
  }

  /** Closes the log; later calls fail with `CLOSED`. */
  close(): Promise<void> {
    return this.#mutate(() => {
      this.#closed = true;
    });
  }

  #mutate<T>(change: () => T): Promise<T> {
    try {
      this.#checkOpen();
      return Promise.resolve(change());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #tail(): Tail {
    this.#checkOpen();
    const last = this.#entries[this.#entries.length - 1];
    if (last === undefined) {
      return {
        nextIndex: this.#firstIndex,
        nextOffset: this.#firstOffset,
        lastTerm: this.#prevTerm,
      };
    }
    const nextOffset = last.baseOffset +
      (last.kind === EntryKind.Records ? last.records.length : 0);
    return { nextIndex: last.index + 1, nextOffset, lastTerm: last.term };
  }

  #at(index: number): Entry {
    return this.#entries[index - this.#firstIndex]!;
  }

  /** Binary search: the last entry whose base offset is <= `offset`. */
  #entryOfOffset(offset: number): Entry {
    let low = 0;
    let high = this.#entries.length - 1;
    let found = 0;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.#entries[middle]!.baseOffset <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return this.#entries[found]!;
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogError("CLOSED", "Cannot use the log: it is closed");
  }

  #checkOffset(offset: number, allowNext: boolean): void {
    const first = this.firstOffset();
    const next = this.nextOffset();
    const limit = allowNext ? next + 1 : next;
    if (Number.isSafeInteger(offset) && offset >= first && offset < limit) return;
    const range = first === next
      ? `the log holds no records (the next offset is ${next})`
      : `the log holds offsets ${first} to ${next - 1}`;
    throw new LogError("OFFSET_OUT_OF_RANGE", `Cannot read offset ${offset}: ${range}`);
  }
}

function noop(): void {}

function copyEntry(entry: Entry): Entry {
  return {
    term: entry.term,
    index: entry.index,
    kind: entry.kind,
    baseOffset: entry.baseOffset,
    records: entry.records.map((record) => record.slice()),
    data: entry.data.slice(),
  };
}
