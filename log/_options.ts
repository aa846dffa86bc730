/**
 * Options of the file log, their defaults and validation, and the fsync policy parser.
 * @module
 */

import { DENO_FS, type LogFs } from "./_fs.ts";
import { LogError } from "./types.ts";

/** When appended bytes are made durable. */
export type FsyncPolicy =
  /** An append resolves only after its bytes are fsynced (concurrent appends share one). */
  | { readonly mode: "always" }
  /** Appends resolve once written; a timer fsyncs every `intervalMs`. */
  | { readonly mode: "interval"; readonly intervalMs: number }
  /** Appends resolve once written; fsync happens only on roll and close. */
  | { readonly mode: "never" };

/** What one group commit did, reported to an optional observer (metrics live elsewhere). */
export interface GroupCommitEvent {
  /** Entries written by the group. */
  readonly entries: number;
  /** Frame bytes written by the group. */
  readonly bytes: number;
  /** Time spent in the write call(s), in milliseconds. */
  readonly writeMs: number;
  /** Time spent in fsync (0 when the policy did not sync this group), in milliseconds. */
  readonly fsyncMs: number;
}

/**
 * What opening the log found and did about damage, reported through
 * {@linkcode LogObserver.onRecovery}. Each carries `message`, one sentence ready to log.
 *
 * - `corrupt`: entries `[firstIndex, endIndex)` (offsets `[firstOffset, endOffset)`) are
 *   damaged but intact frames follow them, so they are acknowledged data: they are kept, their
 *   offsets stay reserved and reads of them fail with `CORRUPT`. Never cut.
 * - `tail_cut`: damage with nothing valid after it at the end of the last segment after a
 *   crash (a write the crash interrupted) was cut: `bytes` from store `position`, entry
 *   `firstIndex` and offset `firstOffset` on (the next append gets them). Also bytes after the
 *   last entry of a sealed segment that hold no entry.
 * - `index_rebuilt`: an index that had to be trusted (a sealed segment's, or the last one's
 *   after a clean close) disagreed with its store and was rebuilt from verified frames.
 */
export type RecoveryEvent =
  | {
    readonly kind: "corrupt";
    readonly storePath: string;
    readonly position: number;
    readonly bytes: number;
    readonly firstIndex: number;
    readonly endIndex: number;
    readonly firstOffset: number;
    readonly endOffset: number;
    readonly reason: string;
    readonly message: string;
  }
  | {
    readonly kind: "tail_cut";
    readonly storePath: string;
    readonly position: number;
    readonly bytes: number;
    readonly firstIndex: number;
    readonly firstOffset: number;
    readonly reason: string;
    readonly message: string;
  }
  | {
    readonly kind: "index_rebuilt";
    readonly storePath: string;
    readonly reason: string;
    readonly message: string;
  };

/** Callbacks the log calls with measurements; the caller maps them to metrics. */
export interface LogObserver {
  /** Called after each group commit. Must not throw; must be cheap. */
  readonly onGroupCommit?: (event: GroupCommitEvent) => void;
  /** Called after each timer-driven fsync of the `interval` policy, with its duration. */
  readonly onIntervalSync?: (event: { readonly fsyncMs: number }) => void;
  /**
   * Called for each damage found while opening, or when a read failed and a trusted index was
   * checked against its store (see {@linkcode RecoveryEvent}). Must not throw.
   * Default: the event's message is written to stderr, so damage is never silent.
   */
  readonly onRecovery?: (event: RecoveryEvent) => void;
}

/** Options of {@linkcode openLog}. Every field is optional; defaults are documented per field. */
export interface LogOptions {
  /** Roll to a new segment once the store reaches this size. Default 64 MiB. */
  readonly segmentBytesMax?: number;
  /** Roll to a new segment once the index reaches this size. Default 16 MiB. */
  readonly indexBytesMax?: number;
  /** Durability policy. Default `{ mode: "always" }`. */
  readonly fsync?: FsyncPolicy;
  /** Largest record value accepted. Default 1 MiB. */
  readonly recordBytesMax?: number;
  /** Largest entry (sum of its record values, or its config data) accepted. Default 8 MiB. */
  readonly batchBytesMax?: number;
  /** Delete the oldest sealed segments while the log is larger than this. Default: no limit. */
  readonly retentionBytes?: number;
  /** Delete sealed segments whose newest entry is older than this. Default: no limit. */
  readonly retentionMs?: number;
  /** Milliseconds since the epoch; stamps entries for age retention. Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Receives measurements (group commit sizes and durations) and recovery events.
   * Default: none, except that recovery events go to stderr.
   */
  readonly observer?: LogObserver;
  /** The file system the log's files live on. Default: the real one (tests pass a simulated disk). */
  readonly fs?: LogFs;
}

/** Options with every default filled in. */
export interface ResolvedLogOptions {
  readonly segmentBytesMax: number;
  readonly indexBytesMax: number;
  readonly fsync: FsyncPolicy;
  readonly recordBytesMax: number;
  readonly batchBytesMax: number;
  readonly retentionBytes: number | undefined;
  readonly retentionMs: number | undefined;
  readonly clock: () => number;
  readonly observer: LogObserver;
  readonly fs: LogFs;
}

const MIB = 1024 * 1024;

function checkPositiveInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new LogError(
      "INVALID_ARGUMENT",
      `Cannot open the log: ${name} must be an integer >= ${min}, got ${value}`,
    );
  }
  return value;
}

/** Fills defaults and validates; throws `INVALID_ARGUMENT` naming the bad option. */
export function resolveLogOptions(options: LogOptions = {}): ResolvedLogOptions {
  const fsync = options.fsync ?? { mode: "always" };
  if (fsync.mode === "interval") checkPositiveInteger("fsync.intervalMs", fsync.intervalMs, 1);
  const recordBytesMax = checkPositiveInteger("recordBytesMax", options.recordBytesMax ?? MIB, 1);
  const batchBytesMax = checkPositiveInteger(
    "batchBytesMax",
    options.batchBytesMax ?? Math.max(8 * MIB, recordBytesMax),
    recordBytesMax,
  );
  return {
    segmentBytesMax: checkPositiveInteger(
      "segmentBytesMax",
      options.segmentBytesMax ?? 64 * MIB,
      1,
    ),
    indexBytesMax: checkPositiveInteger("indexBytesMax", options.indexBytesMax ?? 16 * MIB, 24),
    fsync,
    recordBytesMax,
    batchBytesMax,
    retentionBytes: options.retentionBytes === undefined
      ? undefined
      : checkPositiveInteger("retentionBytes", options.retentionBytes, 0),
    retentionMs: options.retentionMs === undefined
      ? undefined
      : checkPositiveInteger("retentionMs", options.retentionMs, 0),
    clock: options.clock ?? Date.now,
    observer: options.observer ?? {},
    fs: options.fs ?? DENO_FS,
  };
}

/**
 * Parses the command-line form of a fsync policy: `always`, `never` or `interval=<ms>`.
 *
 * @example
 * ```ts
 * parseFsyncPolicy("interval=100"); // { mode: "interval", intervalMs: 100 }
 * ```
 */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === "always") return { mode: "always" };
  if (text === "never") return { mode: "never" };
  const match = /^interval=([1-9][0-9]{0,8})$/.exec(text);
  if (match !== null) return { mode: "interval", intervalMs: Number(match[1]) };
  throw new LogError(
    "INVALID_ARGUMENT",
    `Cannot parse fsync policy "${text}": expected "always", "never" or "interval=<ms>" ` +
      `with ms a positive integer, e.g. "interval=100"`,
  );
}
