/**
 * Turning queued append requests into one group: validation against the log's tail, frame
 * encoding into one buffer, and the index entries that follow them.
 * @module
 */

import {
  encodeFrame,
  encodeIndexEntry,
  frameBytes,
  INDEX_ENTRY_BYTES,
  payloadBytes,
  RECORDS_DATA_BYTES_MAX,
} from "./_codec.ts";
import type { ResolvedLogOptions } from "./_options.ts";
import { type AppendResult, type Entry, EntryKind, LogError } from "./types.ts";

/** Where the next entry goes. */
export interface Tail {
  nextIndex: number;
  nextOffset: number;
  lastTerm: number;
}

/** Shared by the per-entry requests of one `appendEntries` call. */
export interface EntriesCall {
  failed: boolean;
}

/** One queued append: a record batch (`append`) or one entry of an `appendEntries` call. */
export type AppendRequest =
  | {
    readonly kind: "records";
    readonly records: readonly Uint8Array[];
    readonly term: number | undefined;
    /** Opaque bytes stored with the batch (see {@linkcode Entry.data}); empty when absent. */
    readonly data?: Uint8Array;
    readonly resolve: (result: AppendResult) => void;
    readonly reject: (error: unknown) => void;
  }
  | {
    readonly kind: "entry";
    readonly entry: Entry;
    readonly call: EntriesCall;
    /** Set on the last entry of the call only: settles the caller's promise. */
    readonly resolve: (() => void) | null;
    readonly reject: (error: unknown) => void;
  };

/**
 * Checks the opaque bytes stored with a record batch: at most
 * {@linkcode RECORDS_DATA_BYTES_MAX} (they are metadata, such as a producer id, not payload).
 */
export function checkRecordsData(data: Uint8Array | undefined): void {
  if (data === undefined || data.length <= RECORDS_DATA_BYTES_MAX) return;
  throw new LogError(
    "INVALID_ARGUMENT",
    `Cannot append a batch with ${data.length} bytes of batch data: the limit is ${RECORDS_DATA_BYTES_MAX}`,
  );
}

/** Checks what does not depend on the log's state; throws `TOO_LARGE` / `INVALID_ARGUMENT`. */
export function checkRecords(records: readonly Uint8Array[], options: ResolvedLogOptions): void {
  if (records.length === 0) {
    throw new LogError("INVALID_ARGUMENT", "Cannot append an empty batch: give at least 1 record");
  }
  let total = 0;
  for (const record of records) {
    if (record.length > options.recordBytesMax) {
      throw new LogError(
        "TOO_LARGE",
        `Cannot append a record of ${record.length} bytes: the limit is ` +
          `${options.recordBytesMax} (recordBytesMax)`,
      );
    }
    total += record.length;
  }
  if (total > options.batchBytesMax) {
    throw new LogError(
      "TOO_LARGE",
      `Cannot append a batch of ${total} bytes: the limit is ${options.batchBytesMax} ` +
        `(batchBytesMax)`,
    );
  }
}

/** Checks the entries of one `appendEntries` call among themselves and against the limits. */
export function checkEntries(entries: readonly Entry[], options: ResolvedLogOptions): void {
  for (const [i, entry] of entries.entries()) {
    if (entry.kind === EntryKind.Records) {
      if (entry.records.length > 0) checkRecords(entry.records, options);
      checkRecordsData(entry.data);
    } else if (entry.records.length > 0) {
      throw new LogError(
        "INVALID_ARGUMENT",
        `Cannot append entry ${entry.index}: only a records entry holds records`,
      );
    }
    if (payloadBytes(entry) > options.batchBytesMax) {
      throw new LogError(
        "TOO_LARGE",
        `Cannot append entry ${entry.index}: its data exceeds ${options.batchBytesMax} bytes (batchBytesMax)`,
      );
    }
    const previous = entries[i - 1];
    if (previous === undefined) continue;
    const offsetAfter = previous.baseOffset + previous.records.length;
    if (
      entry.index !== previous.index + 1 || entry.baseOffset !== offsetAfter ||
      entry.term < previous.term
    ) {
      throw new LogError(
        "INVALID_ARGUMENT",
        `Cannot append entries: entry ${entry.index} does not continue entry ${previous.index} (index, base offset or term)`,
      );
    }
  }
}

/** The entry a request appends at `tail`, or a `LogError` saying why it cannot. */
export function entryAt(request: AppendRequest, tail: Tail): Entry | LogError {
  if (request.kind === "records") {
    const term = request.term ?? tail.lastTerm;
    if (!Number.isSafeInteger(term) || term < tail.lastTerm) {
      return new LogError(
        "INVALID_ARGUMENT",
        `Cannot append with term ${term}: the last entry has term ${tail.lastTerm}`,
      );
    }
    return {
      term,
      index: tail.nextIndex,
      kind: EntryKind.Records,
      baseOffset: tail.nextOffset,
      records: request.records,
      data: request.data ?? EMPTY,
    };
  }
  const entry = request.entry;
  if (
    entry.index !== tail.nextIndex || entry.baseOffset !== tail.nextOffset ||
    entry.term < tail.lastTerm
  ) {
    return new LogError(
      "INVALID_ARGUMENT",
      `Cannot append entry ${entry.index} (base offset ${entry.baseOffset}, term ${entry.term}): ` +
        `the log expects index ${tail.nextIndex}, base offset ${tail.nextOffset}, term >= ${tail.lastTerm}`,
    );
  }
  return entry;
}

const EMPTY = new Uint8Array(0);

/** Advances `tail` past `entry`. */
export function advance(tail: Tail, entry: Entry): void {
  tail.nextIndex = entry.index + 1;
  tail.nextOffset = entry.baseOffset +
    (entry.kind === EntryKind.Records ? entry.records.length : 0);
  tail.lastTerm = entry.term;
}

/** A group ready to write: its frames (store bytes) and their index entries. */
export interface EncodedGroup {
  readonly frames: Uint8Array;
  readonly index: Uint8Array;
}

/** Encodes `entries` as frames starting at store position `storeBytes`. */
export function encodeGroup(
  entries: readonly Entry[],
  storeBytes: number,
  timestampMs: number,
): EncodedGroup {
  let total = 0;
  for (const entry of entries) total += frameBytes(entry);
  const frames = new Uint8Array(total);
  const index = new Uint8Array(entries.length * INDEX_ENTRY_BYTES);
  const indexView = new DataView(index.buffer);
  let position = 0;
  for (const [i, entry] of entries.entries()) {
    encodeIndexEntry(
      indexView,
      i * INDEX_ENTRY_BYTES,
      storeBytes + position,
      entry.baseOffset,
      entry.term,
    );
    position += encodeFrame(entry, timestampMs, frames, position);
  }
  return { frames, index };
}
