/**
 * The storage contract shared by `log/` (which implements it) and `raft/` (which uses it).
 *
 * Vocabulary (one word, one meaning — CONTRIBUTING.md, convention 3):
 * - an entry *index* is Raft's position of an entry in the log, dense, starting at 1;
 * - a record *offset* is a consumer's position of a record, dense, starting at 0;
 * - a byte *position* is a place inside a file.
 *
 * An entry of kind `records` carries a batch of records; its records have the offsets
 * `baseOffset, baseOffset + 1, …`. Entries of other kinds carry no records and have
 * `baseOffset` equal to the offset the next record will get, so offsets stay dense.
 * @module
 */

/** What an entry holds. Stored as one byte; values never change meaning. */
export const EntryKind = {
  /** A batch of client records. */
  Records: 1,
  /** A cluster membership change; `data` is opaque to the log (Raft encodes it). */
  Config: 2,
  /** The no-op a new Raft leader appends at the start of its term. */
  Noop: 3,
} as const;
/** One of the values of {@linkcode EntryKind}. */
export type EntryKind = typeof EntryKind[keyof typeof EntryKind];

/** One entry of the log. */
export interface Entry {
  /** Raft term in which the entry was created (0 allowed for a log used without Raft). */
  readonly term: number;
  /** Raft index, dense from 1. */
  readonly index: number;
  /** What the entry holds (records, a config change, or nothing). */
  readonly kind: EntryKind;
  /** Offset of the first record (see module doc for entries without records). */
  readonly baseOffset: number;
  /** Record values, in offset order. Empty unless `kind` is `Records`. */
  readonly records: readonly Uint8Array[];
  /**
   * Opaque payload of a `Config` entry. On a `Records` entry: optional batch data stored with
   * the records (the agent's producer id and sequence; at most 1 KiB), empty when absent.
   * Empty for `Noop` entries.
   */
  readonly data: Uint8Array;
}

/** A record as consumers see it. */
export interface LogRecord {
  /** The record's bytes (a view into a read buffer: treat as read-only). */
  readonly value: Uint8Array;
  /** The record's offset, dense from 0. */
  readonly offset: number;
  /** Term of the entry that holds the record. */
  readonly term: number;
}

/** Codes of {@linkcode LogError}; only `server/` maps them to gRPC/HTTP status. */
export type LogErrorCode =
  /** A record offset outside [firstOffset, nextOffset). */
  | "OFFSET_OUT_OF_RANGE"
  /** An entry index outside [firstIndex, lastIndex]. */
  | "INDEX_OUT_OF_RANGE"
  /** Stored bytes fail their checksum or framing. */
  | "CORRUPT"
  /** A record or batch exceeds the configured limit. */
  | "TOO_LARGE"
  /** The caller broke a precondition the caller can fix (non-contiguous append, bad argument). */
  | "INVALID_ARGUMENT"
  /** The log was closed. */
  | "CLOSED"
  /** Another process holds the data directory. */
  | "LOCKED";

/** A domain error of the log, typed by `code`. */
export class LogError extends Error {
  /** What went wrong, for callers to branch on (`server/` maps it to a status). */
  readonly code: LogErrorCode;
  /** A log error with its code and a "Cannot …: …" message. */
  constructor(code: LogErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LogError";
    this.code = code;
  }
}

/**
 * What Raft needs of its storage: the Raft log *is* the commit log ("One log, not two").
 *
 * Reads are synchronous (positional reads of page-cached files are microseconds, and a pure
 * Raft core can call them); mutations are asynchronous and resolve once durable according to
 * the fsync policy (`always`: fsynced).
 *
 * Empty log: `firstIndex() === lastIndex() + 1`. After `deletePrefix`/`restartAt`, the entry
 * just before `firstIndex()` is remembered by its term (`termAt(firstIndex() - 1)` works), as
 * Raft's log matching needs it.
 */
export interface EntryStore {
  /** First retained entry index (1 on a new log). */
  firstIndex(): number;
  /** Last entry index (0 on a new log). */
  lastIndex(): number;
  /** Offset the next record will get. */
  nextOffset(): number;
  /**
   * Term of the entry at `index`, for `firstIndex() - 1 <= index <= lastIndex()`
   * (index 0 has term 0). Otherwise throws `INDEX_OUT_OF_RANGE`.
   */
  termAt(index: number): number;
  /**
   * Entries from `fromIndex` (inclusive) to `toIndex` (exclusive), stopping before the total
   * payload bytes would exceed `bytesMax` — but always at least one entry when the range is
   * not empty. Throws `INDEX_OUT_OF_RANGE` outside [firstIndex, lastIndex + 1].
   */
  entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[];
  /**
   * Appends entries whose indexes continue `lastIndex()` and whose base offsets continue
   * `nextOffset()`; otherwise rejects with `INVALID_ARGUMENT`. Resolves when durable.
   */
  appendEntries(entries: readonly Entry[]): Promise<void>;
  /** Removes entries with index >= `fromIndex` (an uncommitted suffix); offsets roll back. */
  truncateSuffix(fromIndex: number): Promise<void>;
  /** Removes whole segments whose entries are all below `beforeIndex` (retention). */
  deletePrefix(beforeIndex: number): Promise<void>;
  /**
   * Discards everything and restarts the log so that the next entry has index `index + 1`
   * and the next record offset `nextOffset`; `termAt(index)` returns `term` afterwards.
   * Used when a follower is behind the leader's first retained entry (InstallSnapshot).
   */
  restartAt(index: number, term: number, nextOffset: number): Promise<void>;
  /** Flushes, fsyncs and closes. Further calls reject with `CLOSED`. */
  close(): Promise<void>;
}

/** A small durable blob (Raft's term/vote and membership), replaced atomically. */
export interface MetaStore {
  /** The last saved bytes, or null if none were ever saved. */
  load(): Uint8Array | null;
  /** Writes a temp file, fsyncs it, renames it over the old one, fsyncs the directory. */
  save(bytes: Uint8Array): Promise<void>;
}

/** Where an append landed: the offset of its first record and the index of its entry. */
export interface AppendResult {
  /** Offset of the batch's first record. */
  readonly baseOffset: number;
  /** Index of the entry holding the batch. */
  readonly index: number;
}

/** Sizes and bounds of a log, for health checks and metrics. */
export interface LogStats {
  /** Bytes on disk (store + index files), or held in memory by {@linkcode MemoryLog}. */
  readonly bytes: number;
  /** Number of segments (1 for the in-memory log). */
  readonly segments: number;
  /** First retained entry index. */
  readonly firstIndex: number;
  /** Last entry index. */
  readonly lastIndex: number;
  /** First retained record offset (equals `nextOffset` when no record is retained). */
  readonly firstOffset: number;
  /** Offset the next record will get. */
  readonly nextOffset: number;
}

/**
 * The single-node and consumer face of a log: records in, records out, by offset.
 * Both {@linkcode EntryStore} implementations offer it.
 */
export interface RecordLog {
  /**
   * Appends one entry holding `records` (group-committed with concurrent appends); resolves
   * when durable per the fsync policy. `term` defaults to the last entry's term.
   * Rejects with `TOO_LARGE` over the record/batch limits, `INVALID_ARGUMENT` for an empty
   * batch or a term below the last entry's. `data`: batch data stored with the records (see
   * {@linkcode Entry.data}).
   */
  append(
    records: readonly Uint8Array[],
    options?: { term?: number; data?: Uint8Array },
  ): Promise<AppendResult>;
  /** The record at `offset`; throws `OFFSET_OUT_OF_RANGE` naming the valid range, `CORRUPT`. */
  read(offset: number): LogRecord;
  /**
   * Records from `offset` on, stopping before their value bytes would exceed `bytesMax` but
   * always at least one when `offset < nextOffset()`. At `nextOffset()` returns `[]`.
   */
  readFrom(offset: number, bytesMax: number): LogRecord[];
  /** First retained record offset. */
  firstOffset(): number;
  /** Offset the next record will get. */
  nextOffset(): number;
  /** Sizes and bounds, for health checks and metrics. */
  stats(): LogStats;
}
