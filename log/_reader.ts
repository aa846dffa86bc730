/**
 * The read paths of the file log: entry by index, entries by index range, records by offset.
 *
 * Segments are found by binary search over their base index or base offset; inside a segment
 * an entry index maps straight to its fixed-width index entry, and an offset is found by
 * binary search over the index entries. Consecutive entries are read as one "run": one
 * positional read of their index entries and one of their frames (up to `READ_AHEAD_BYTES`),
 * which is what makes sequential reads cheap. The last run is kept (one run, bounded) so that
 * record-by-record reads of the same batch do not re-read it.
 * @module
 */

import { decodeFrame, getU64, INDEX_ENTRY_BYTES, payloadBytes } from "./_codec.ts";
import type { Segment } from "./_segment.ts";
import { type Entry, LogError, type LogRecord } from "./types.ts";

/** Frame bytes one run reads at most (a single larger frame is still read whole). */
export const READ_AHEAD_BYTES = 1024 * 1024;
const RUN_ENTRIES_MAX = 4096;

/** Consecutive entries of one segment, decoded. */
interface Run {
  readonly segment: Segment;
  /** Index of `entries[0]`. */
  readonly firstIndex: number;
  readonly entries: readonly Entry[];
}

/** Binary search: the last segment whose `key` is <= `value` (segments sorted by it), or -1. */
function lastAtOrBelow(
  segments: readonly Segment[],
  value: number,
  key: (segment: Segment) => number,
): number {
  let low = 0;
  let high = segments.length - 1;
  let found = -1;
  // Halves [low, high] every step: at most ~log2(segments) iterations.
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (key(segments[middle]!) <= value) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** Reads entries and records from a list of segments; callers check ranges first. */
export class EntryReader {
  readonly #segments: () => readonly Segment[];
  readonly #repair: (segment: Segment) => boolean;
  #lastRun: Run | null = null;
  /** Indexes repaired so far (a search made before a repair is made again). */
  #repairs = 0;

  /**
   * `repair` is called when a read through a segment's index fails: it checks the index
   * against the store and returns true if reads now use a corrected index (then the read is
   * tried once more).
   */
  constructor(segments: () => readonly Segment[], repair: (segment: Segment) => boolean) {
    this.#segments = segments;
    this.#repair = repair;
  }

  /** Forgets the cached run (after truncation, prefix deletion or restart). */
  invalidate(): void {
    this.#lastRun = null;
  }

  /** The segment holding entry `index` (which must exist). */
  segmentOfIndex(index: number): Segment {
    const segments = this.#segments();
    return segments[lastAtOrBelow(segments, index, (s) => s.baseIndex)]!;
  }

  /** Term of entry `index` from its index entry (no store read). */
  termAt(index: number): number {
    const segment = this.segmentOfIndex(index);
    return segment.indexEntry(index - segment.baseIndex).term;
  }

  /** Entries `[fromIndex, toIndex)` within the payload budget, at least one. */
  entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    const result: Entry[] = [];
    let payload = 0;
    let index = fromIndex;
    // Every run yields at least one entry, so this ends within toIndex - fromIndex runs.
    while (index < toIndex) {
      const run = this.#runOrStop(index, toIndex - index, result.length);
      if (run === null) return result;
      for (const entry of run.entries) {
        const size = payloadBytes(entry);
        if (result.length > 0 && payload + size > bytesMax) return result;
        result.push(entry);
        payload += size;
        index += 1;
        if (index >= toIndex) break;
      }
    }
    return result;
  }

  /** Records from `offset` on within `bytesMax` value bytes, at least one; offset must exist. */
  recordsFrom(offset: number, bytesMax: number, lastIndex: number): LogRecord[] {
    const result: LogRecord[] = [];
    let bytes = 0;
    let index = this.#locate(offset).index;
    let next = offset;
    // Every run yields at least one entry; the loop ends at lastIndex or on the budget.
    while (index <= lastIndex) {
      const run = this.#runOrStop(index, lastIndex + 1 - index, result.length);
      if (run === null) return result;
      for (const entry of run.entries) {
        index += 1;
        for (let i = next - entry.baseOffset; i < entry.records.length; i++) {
          const value = entry.records[i]!;
          if (result.length > 0 && bytes + value.length > bytesMax) return result;
          result.push({ value, offset: entry.baseOffset + i, term: entry.term });
          bytes += value.length;
          next += 1;
        }
      }
    }
    return result;
  }

  /** The record at `offset` (which must exist). */
  record(offset: number): LogRecord {
    const entry = this.#entryOfOffset(offset);
    return { value: entry.records[offset - entry.baseOffset]!, offset, term: entry.term };
  }

  #entryOfOffset(offset: number): Entry {
    const cached = this.#lastRun;
    if (cached !== null) {
      const first = cached.entries[0]!;
      const last = cached.entries[cached.entries.length - 1]!;
      if (first.baseOffset <= offset && offset < last.baseOffset + last.records.length) {
        for (const entry of cached.entries) {
          if (offset < entry.baseOffset + entry.records.length) return entry;
        }
      }
    }
    return this.#locate(offset).entry;
  }

  /**
   * The records entry holding `offset` (which must exist) and its index, found through the
   * index by binary search. The entry read must hold the offset; if it does not, the index
   * lies: it is checked against the store (once) and the search tried again.
   */
  #locate(offset: number): { index: number; entry: Entry } {
    const segments = this.#segments();
    const segment = segments[lastAtOrBelow(segments, offset, (s) => s.baseOffset)]!;
    // A segment's index is repaired at most once, so a third attempt never happens.
    for (let attempt = 0;; attempt++) {
      const repairs = this.#repairs;
      const index = segment.baseIndex + segment.findByOffset(offset);
      // One entry only: a point read must not pay for read-ahead it will not use.
      const entry = this.#run(index, 1).entries[0]!;
      const holds = entry.baseOffset <= offset && offset < entry.baseOffset + entry.records.length;
      if (holds) return { index, entry };
      // Reading the entry may itself have repaired the index the search used: search again.
      const repaired = this.#repairs !== repairs || this.#tryRepair(segment);
      if (attempt >= 2 || !repaired) {
        throw new LogError(
          "CORRUPT",
          `Cannot read offset ${offset}: the index of ${segment.indexPath} leads to entry ` +
            `${index}, which holds offsets ${entry.baseOffset} to ` +
            `${entry.baseOffset + entry.records.length - 1}`,
        );
      }
    }
  }

  /** Asks for `segment`'s index to be checked; true (and the cache dropped) if it changed. */
  #tryRepair(segment: Segment): boolean {
    if (!this.#repair(segment)) return false;
    this.#repairs += 1;
    this.invalidate();
    return true;
  }

  /**
   * A run for a multi-entry read that already holds `collected` items: a damaged frame ends
   * the read there (null) so the caller returns what came before; only a read that starts at
   * the damage throws.
   */
  #runOrStop(index: number, entriesMax: number, collected: number): Run | null {
    try {
      return this.#run(index, entriesMax);
    } catch (error) {
      const damaged = error instanceof LogError && error.code === "CORRUPT";
      if (damaged && collected > 0) return null;
      throw error;
    }
  }

  /** Reads a run of up to `entriesMax` entries from `index`, served from cache if possible. */
  #run(index: number, entriesMax: number): Run {
    const cached = this.#lastRun;
    if (cached !== null && cached.firstIndex <= index) {
      const skip = index - cached.firstIndex;
      if (skip < cached.entries.length) {
        const entries = cached.entries.slice(skip, skip + entriesMax);
        return { segment: cached.segment, firstIndex: index, entries };
      }
    }
    const segment = this.segmentOfIndex(index);
    let run: Run;
    try {
      run = readRun(segment, index, entriesMax);
    } catch (error) {
      // A frame that fails where the index points may be the index's fault: check it once.
      if (!this.#tryRepair(segment)) throw error;
      run = readRun(segment, index, entriesMax);
    }
    this.#lastRun = run;
    return run;
  }
}

/** One positional read of index entries, one of frames, then decode (checksums verified). */
function readRun(segment: Segment, index: number, entriesMax: number): Run {
  const k = index - segment.baseIndex;
  const available = segment.extent.entryCount - k;
  const count = Math.min(entriesMax, available, RUN_ENTRIES_MAX);
  // One more index entry than needed gives the end of the last frame, unless it is the last.
  const withEnd = count < available ? count + 1 : count;
  const view = segment.readIndexEntries(k, withEnd);
  const positionOf = (i: number) =>
    i < withEnd ? getU64(view, i * INDEX_ENTRY_BYTES) : segment.extent.storeBytes;
  const start = positionOf(0);
  let taken = 1;
  while (taken < count && positionOf(taken + 1) - start <= READ_AHEAD_BYTES) taken += 1;
  const bytes = segment.readStore(start, positionOf(taken) - start);
  const entries: Entry[] = [];
  for (let i = 0; i < taken; i++) {
    const position = positionOf(i) - start;
    const size = positionOf(i + 1) - positionOf(i);
    try {
      entries.push(decodeFrame(bytes, position, size, index + i, segment.storePath).entry);
    } catch (error) {
      // A damaged frame fails only the reads that reach it: the run stops just before it.
      if (i === 0) throw error;
      break;
    }
  }
  return { segment, firstIndex: index, entries };
}
