/**
 * The segmented file log, {@linkcode FileLog} (opened by `openLog` in `_open.ts`).
 *
 * Mutations go through one FIFO queue worked by one loop, so they never interleave: a run of
 * queued appends becomes one group (one write to the store, one to the index, one fdatasync
 * under `always`), other mutations (truncate, delete prefix, restart, sync, close) run alone
 * in their turn. Reads are synchronous and see only what the worker has made visible: under
 * `always` that is fsynced data, so a reader never sees a record a crash could take back.
 * @module
 */

import { frameBytes, INDEX_ENTRY_BYTES, SEGMENT_HEADER_BYTES } from "./_codec.ts";
import { putCleanMarker, removeRestartMarker, type RestartPoint } from "./_dir.ts";
import {
  advance,
  type AppendRequest,
  checkEntries,
  checkRecords,
  checkRecordsData,
  encodeGroup,
  entryAt,
  type Tail,
} from "./_group_commit.ts";
import type { LogFile } from "./_fs.ts";
import type { ResolvedLogOptions } from "./_options.ts";
import { checkIndexAgainstStore, type IndexCheck } from "./_index_check.ts";
import { EntryReader } from "./_reader.ts";
import { recoveryReport } from "./_recovery.ts";
import { checkRestartPoint, restartFiles } from "./_restart.ts";
import { Segment, syncDir } from "./_segment.ts";
import { retentionVictims } from "./_retention.ts";
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

/** Frame bytes one group writes at most (a single larger entry still goes alone). */
const GROUP_BYTES_MAX = 16 * 1024 * 1024;
/** Microtask turns the worker waits after a group for its callers to append again. */
const YIELD_TURNS = 8;

type Task = {
  readonly kind: "task";
  readonly run: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
};
type Request = AppendRequest | Task;

/** The segmented, crash-safe file log. Create it with `openLog`. */
export class FileLog implements EntryStore, RecordLog {
  readonly #dir: string;
  readonly #options: ResolvedLogOptions;
  readonly #lock: LogFile;
  #segments: Segment[];
  readonly #reader: EntryReader;
  readonly #queue: Request[] = [];
  #worker: Promise<void> | null = null;
  #closed = false;
  /** The write or fsync error that stopped the log (fail-stop: see `#failAppends`). */
  #failure: unknown = null;
  #dirty = false;
  /** An interval sync is queued and has not run yet (at most one at a time). */
  #syncQueued = false;
  #intervalId: ReturnType<typeof setInterval> | null = null;

  /** Use `openLog`, which recovers `segments` and takes `lock`. */
  constructor(dir: string, options: ResolvedLogOptions, lock: LogFile, segments: Segment[]) {
    this.#dir = dir;
    this.#options = options;
    this.#lock = lock;
    this.#segments = segments;
    this.#reader = new EntryReader(() => this.#segments, (segment) => this.#repairIndex(segment));
    if (options.fsync.mode === "interval") {
      const id = setInterval(() => this.#syncIfDirty(), options.fsync.intervalMs);
      Deno.unrefTimer(id);
      this.#intervalId = id;
    }
  }

  // ---- reads (synchronous) -------------------------------------------------------------

  /** First retained entry index. */
  firstIndex(): number {
    this.#checkOpen();
    return this.#segments[0]!.baseIndex;
  }

  /** Last entry index (firstIndex() - 1 when empty). */
  lastIndex(): number {
    this.#checkOpen();
    return this.#active().endIndex - 1;
  }

  /** First retained record offset. */
  firstOffset(): number {
    this.#checkOpen();
    return this.#segments[0]!.baseOffset;
  }

  /** Offset the next record will get. */
  nextOffset(): number {
    this.#checkOpen();
    return this.#active().extent.nextOffset;
  }

  /** Term of entry `index`, for firstIndex() - 1 <= index <= lastIndex(). */
  termAt(index: number): number {
    const first = this.firstIndex();
    const last = this.lastIndex();
    if (!Number.isSafeInteger(index) || index < first - 1 || index > last) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot get the term of entry ${index}: the log knows terms of entries ${
          first - 1
        } to ${last}`,
      );
    }
    if (index === last) return this.#active().extent.lastTerm;
    if (index === first - 1) return this.#segments[0]!.prevTerm;
    return this.#reader.termAt(index);
  }

  /** Entries [fromIndex, toIndex) within `bytesMax` payload bytes (at least one). */
  entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    const first = this.firstIndex();
    const last = this.lastIndex();
    const valid = Number.isSafeInteger(fromIndex) && Number.isSafeInteger(toIndex) &&
      first <= fromIndex && fromIndex <= toIndex && toIndex <= last + 1;
    if (!valid) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot read entries ${fromIndex} to ${
          toIndex - 1
        }: the log holds entries ${first} to ${last}`,
      );
    }
    if (fromIndex === toIndex) return [];
    return this.#reader.entries(fromIndex, toIndex, bytesMax);
  }

  /** The record at `offset`. Throws `OFFSET_OUT_OF_RANGE` naming the valid range, or `CORRUPT`. */
  read(offset: number): LogRecord {
    this.#checkOffset(offset, false);
    return this.#reader.record(offset);
  }

  /** Records from `offset` within `bytesMax` value bytes (at least one); `[]` at nextOffset(). */
  readFrom(offset: number, bytesMax: number): LogRecord[] {
    this.#checkOffset(offset, true);
    if (offset === this.nextOffset()) return [];
    return this.#reader.recordsFrom(offset, bytesMax, this.lastIndex());
  }

  /** Sizes and bounds of the log. */
  stats(): LogStats {
    this.#checkOpen();
    let bytes = 0;
    for (const segment of this.#segments) {
      bytes += segment.extent.storeBytes + segment.extent.entryCount * INDEX_ENTRY_BYTES;
    }
    return {
      bytes,
      segments: this.#segments.length,
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      firstOffset: this.firstOffset(),
      nextOffset: this.nextOffset(),
    };
  }

  // ---- mutations (queued) ----------------------------------------------------------------

  /**
   * Appends one entry holding `records`; group-committed; resolves when durable per policy.
   * The bytes are read when the group is written: do not change them until this settles.
   */
  append(
    records: readonly Uint8Array[],
    options?: { term?: number; data?: Uint8Array },
  ): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#failure !== null) return Promise.reject(this.#failure);
    try {
      checkRecords(records, this.#options);
      checkRecordsData(options?.data);
    } catch (error) {
      return Promise.reject(error);
    }
    const data = options?.data;
    return new Promise((resolve, reject) => {
      this.#enqueue({
        kind: "records",
        records,
        term: options?.term,
        ...(data === undefined ? {} : { data }),
        resolve,
        reject,
      });
    });
  }

  /**
   * Appends entries continuing lastIndex()/nextOffset(); resolves when durable per policy.
   * As with `append`, the entries are read when their group is written.
   */
  appendEntries(entries: readonly Entry[]): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#failure !== null) return Promise.reject(this.#failure);
    try {
      checkEntries(entries, this.#options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (entries.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const call = { failed: false };
      entries.forEach((entry, i) => {
        const last = i === entries.length - 1;
        this.#enqueue({ kind: "entry", entry, call, resolve: last ? resolve : null, reject });
      });
    });
  }

  /** Removes entries with index >= `fromIndex`; offsets roll back with them. */
  truncateSuffix(fromIndex: number): Promise<void> {
    return this.#task(() => this.#truncateSuffix(fromIndex));
  }

  /** Removes whole sealed segments whose entries all lie below `beforeIndex`. */
  deletePrefix(beforeIndex: number): Promise<void> {
    return this.#task(() => this.#deleteSegmentsBelow(beforeIndex));
  }

  /** Discards everything; the next entry gets index `index + 1` and offset `nextOffset`. */
  restartAt(index: number, term: number, nextOffset: number): Promise<void> {
    return this.#task(() => this.#restartAt({ index, term, nextOffset }));
  }

  /**
   * The entry index retention would keep from under `limits` (the base index of the oldest
   * segment it would keep; `firstIndex()` when it would delete nothing). Deletes nothing: a
   * log under Raft passes `min(this, applied + 1)` to {@linkcode deletePrefix} itself.
   */
  retentionPoint(limits: { retentionBytes?: number; retentionMs?: number }): number {
    this.#checkOpen();
    const count = retentionVictims(this.#segments, {
      retentionBytes: limits.retentionBytes,
      retentionMs: limits.retentionMs,
      nowMs: this.#options.clock(),
    });
    return this.#segments[count]!.baseIndex;
  }

  /** Deletes sealed segments beyond `retentionBytes` or older than `retentionMs`. */
  enforceRetention(): Promise<void> {
    return this.#task(() => this.#enforceRetention());
  }

  /** Flushes, fsyncs, leaves the clean-close marker, releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) throw closedError();
    const done = this.#task(() => this.#closeNow(), true);
    this.#closed = true;
    await done;
  }

  // ---- the worker ------------------------------------------------------------------------

  #enqueue(request: Request): void {
    this.#queue.push(request);
    // Started from a microtask so appends made in the same turn land in one group.
    this.#worker ??= Promise.resolve().then(() => this.#work());
  }

  /** Queues a non-append mutation; only `close` (`whenFailed`) still runs after a failure. */
  #task(run: () => Promise<void>, whenFailed = false): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const guarded = () => {
      if (this.#failure !== null && !whenFailed) return Promise.reject(this.#failure);
      return run();
    };
    return new Promise((resolve, reject) =>
      this.#enqueue({ kind: "task", run: guarded, resolve, reject })
    );
  }

  async #work(): Promise<void> {
    // Each iteration removes at least one request; the queue is finite at any moment and
    // callers stop adding once the log is closed.
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (head.kind === "task") {
        this.#queue.shift();
        await head.run().then(head.resolve, head.reject);
        continue;
      }
      await this.#commitGroup().catch((error) => this.#failAppends(error));
      // Let the callers just resolved run on (and append again) before the next group forms:
      // a few microtask turns cover an `await` chain, and cost nothing like a timer would.
      for (let turn = 0; turn < YIELD_TURNS; turn++) await Promise.resolve();
    }
    this.#worker = null;
  }

  /** Takes the queued appends at the head (within one segment), writes, syncs, publishes. */
  async #commitGroup(): Promise<void> {
    let segment = this.#active();
    const tail: Tail = {
      nextIndex: segment.endIndex,
      nextOffset: segment.extent.nextOffset,
      lastTerm: segment.extent.lastTerm,
    };
    const entries: Entry[] = [];
    const requests: AppendRequest[] = [];
    let bytes = 0;
    // Bounded by the queue length: each iteration consumes one request.
    while (this.#queue.length > 0 && this.#queue[0]!.kind !== "task") {
      const request = this.#queue[0] as AppendRequest;
      if (request.kind === "entry" && request.call.failed) {
        this.#queue.shift();
        continue;
      }
      const entry = entryAt(request, tail);
      if (entry instanceof LogError) {
        this.#queue.shift();
        if (request.kind === "entry") request.call.failed = true;
        request.reject(entry);
        continue;
      }
      const size = frameBytes(entry);
      if (entries.length > 0 && bytes + size > GROUP_BYTES_MAX) break;
      if (this.#wouldOverflow(segment, bytes + size, entries.length + 1)) {
        if (entries.length > 0) break;
        if (segment.extent.entryCount > 0) {
          segment = await this.#roll();
          continue;
        }
      }
      this.#queue.shift();
      entries.push(entry);
      requests.push(request);
      advance(tail, entry);
      bytes += size;
    }
    if (entries.length === 0) return;
    await this.#writeGroup(segment, entries, requests);
  }

  async #writeGroup(segment: Segment, entries: Entry[], requests: AppendRequest[]): Promise<void> {
    const timestampMs = this.#options.clock();
    const group = encodeGroup(entries, segment.extent.storeBytes, timestampMs);
    const started = performance.now();
    try {
      await segment.write(group.frames, group.index);
    } catch (error) {
      // The files may hold part of the group: reopening recovers a verified prefix.
      for (const request of requests) request.reject(error);
      throw error;
    }
    const written = performance.now();
    const syncing = this.#options.fsync.mode === "always";
    if (syncing) {
      await segment.syncStore().catch((error) => {
        for (const request of requests) request.reject(error);
        throw error;
      });
    } else {
      this.#dirty = true;
    }
    const synced = performance.now();
    publish(segment, entries, group.frames.length, timestampMs);
    this.#options.observer.onGroupCommit?.({
      entries: entries.length,
      bytes: group.frames.length,
      writeMs: written - started,
      fsyncMs: syncing ? synced - written : 0,
    });
    for (const [i, request] of requests.entries()) {
      const entry = entries[i]!;
      if (request.kind === "records") {
        request.resolve({ baseOffset: entry.baseOffset, index: entry.index });
      } else request.resolve?.();
    }
  }

  /**
   * After a failed write or fsync nothing can be known about the file's tail (and a failed
   * fsync may have dropped dirty pages: "fsyncgate"), so the log stops taking writes, like
   * etcd and TigerBeetle do; reopening recovers a verified prefix. Reads go on.
   */
  #failAppends(error: unknown): void {
    this.#failure = new LogError("CLOSED", `Cannot write to the log: a write failed (${error})`, {
      cause: error,
    });
    // Queued tasks stay: they check #failure when they run, except close, which must run.
    const tasks = this.#queue.filter((request) => request.kind === "task");
    for (const request of this.#queue) if (request.kind !== "task") request.reject(this.#failure);
    this.#queue.splice(0, this.#queue.length, ...tasks);
  }

  #wouldOverflow(segment: Segment, extraBytes: number, extraEntries: number): boolean {
    const indexBytes = (segment.extent.entryCount + extraEntries) * INDEX_ENTRY_BYTES;
    return segment.extent.storeBytes + extraBytes > this.#options.segmentBytesMax ||
      indexBytes > this.#options.indexBytesMax;
  }

  /** Seals the active segment (fsynced) and starts a new one after it. */
  async #roll(): Promise<Segment> {
    const sealed = this.#active();
    await sealed.syncAll();
    sealed.closeWriters();
    const next = await Segment.create(this.#options.fs, this.#dir, {
      baseIndex: sealed.endIndex,
      baseOffset: sealed.extent.nextOffset,
      prevTerm: sealed.extent.lastTerm,
    });
    await syncDir(this.#options.fs, this.#dir);
    this.#segments.push(next);
    if (this.#options.retentionBytes !== undefined || this.#options.retentionMs !== undefined) {
      await this.#enforceRetention();
    }
    return next;
  }

  async #syncIfDirty(): Promise<void> {
    if (!this.#dirty || this.#closed || this.#syncQueued) return;
    this.#syncQueued = true;
    await this.#task(async () => {
      this.#syncQueued = false;
      this.#dirty = false;
      const started = performance.now();
      try {
        await this.#active().syncStore();
      } catch (error) {
        // Resolved appends may be lost: stop taking writes, as after a failed group fsync.
        this.#failAppends(error);
        throw error;
      }
      this.#options.observer.onIntervalSync?.({ fsyncMs: performance.now() - started });
    }).catch(() => {
      // Nobody awaits a timer's sync; the failure reaches writers through #failure.
    });
  }

  // ---- the non-append mutations (run by the worker, one at a time) ------------------------

  async #truncateSuffix(fromIndex: number): Promise<void> {
    const first = this.firstIndex();
    const last = this.lastIndex();
    if (!Number.isSafeInteger(fromIndex) || fromIndex < first || fromIndex > last + 1) {
      throw new LogError(
        "INDEX_OUT_OF_RANGE",
        `Cannot truncate from entry ${fromIndex}: the log holds entries ${first} to ${last}`,
      );
    }
    if (fromIndex === last + 1) return;
    const keep = this.#reader.segmentOfIndex(fromIndex);
    const position = this.#segments.indexOf(keep);
    const dropped = this.#segments.splice(position + 1);
    const k = fromIndex - keep.baseIndex;
    const cut = k === 0 ? null : keep.indexEntry(k);
    const extentBefore = k === 0 ? null : keep.indexEntry(k - 1);
    // Visible state first (synchronously), so no read sees entries being removed.
    Object.assign(keep.extent, {
      entryCount: k,
      storeBytes: cut?.position ?? SEGMENT_HEADER_BYTES,
      nextOffset: cut?.baseOffset ?? keep.baseOffset,
      lastTerm: extentBefore?.term ?? keep.prevTerm,
      lastTimestampMs: null,
    });
    this.#reader.invalidate();
    // Newest first, each removal durable before the next step, so a crash at any point
    // leaves contiguous segments (recovery cannot bridge a gap).
    for (const segment of dropped.reverse()) {
      await segment.remove();
      await syncDir(this.#options.fs, this.#dir);
    }
    await keep.truncateFiles(k, keep.extent.storeBytes);
  }

  async #deleteSegmentsBelow(beforeIndex: number): Promise<void> {
    let count = 0;
    while (
      count < this.#segments.length - 1 && this.#segments[count]!.endIndex <= beforeIndex
    ) count += 1;
    await this.#dropOldest(count);
  }

  /** Removes the `count` oldest segments (never the active one), oldest first. */
  async #dropOldest(count: number): Promise<void> {
    if (count <= 0) return;
    const dropped = this.#segments.splice(0, count);
    this.#reader.invalidate();
    // Oldest first, each removal durable before the next: a crash leaves a contiguous suffix.
    for (const segment of dropped) {
      await segment.remove();
      await syncDir(this.#options.fs, this.#dir);
    }
  }

  async #enforceRetention(): Promise<void> {
    const count = retentionVictims(this.#segments, {
      retentionBytes: this.#options.retentionBytes,
      retentionMs: this.#options.retentionMs,
      nowMs: this.#options.clock(),
    });
    await this.#dropOldest(count);
  }

  async #restartAt(point: RestartPoint): Promise<void> {
    checkRestartPoint(point);
    const old = this.#segments;
    const fresh = await restartFiles(this.#options.fs, this.#dir, old, point);
    this.#segments = [fresh];
    this.#reader.invalidate();
    for (const segment of old) segment.close();
    await removeRestartMarker(this.#options.fs, this.#dir);
  }

  async #closeNow(): Promise<void> {
    if (this.#intervalId !== null) clearInterval(this.#intervalId);
    if (this.#failure !== null) {
      // No clean marker: the next open must verify the tail the failed write left.
      for (const segment of this.#segments) segment.close();
      this.#lock.close();
      return;
    }
    const active = this.#active();
    await active.syncAll();
    for (const segment of this.#segments) segment.close();
    await putCleanMarker(this.#options.fs, this.#dir);
    await this.#lock.unlock();
    this.#lock.close();
  }

  // ---- helpers ---------------------------------------------------------------------------

  /**
   * Checks a trusted index that a read failed through against its store (once per segment,
   * unless a disk error stopped the walk), reporting damaged frames found; if the index was
   * wrong, reads use the rebuilt one at once and the file is rewritten in turn. True if the
   * index changed.
   */
  #repairIndex(segment: Segment): boolean {
    let check: IndexCheck;
    try {
      check = checkIndexAgainstStore(segment, segment === this.#active());
    } catch {
      // The store could not be read (a disk error): the index was not checked. The read that
      // asked fails with its own error, and a later read checks the index again.
      segment.indexVerified = false;
      return false;
    }
    const report = recoveryReport(this.#options.observer);
    for (const event of check.events) report(event);
    if (!check.rebuilt) return false;
    this.#task(async () => {
      if (!this.#segments.includes(segment)) return;
      await segment.persistRebuiltIndex();
      if (segment !== this.#active()) segment.closeWriters();
    }).catch(() => {
      // Reads go on from the rebuilt index; the next open checks the file again.
    });
    return true;
  }

  #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
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

/** Makes a written group visible to readers. */
function publish(segment: Segment, entries: Entry[], bytes: number, timestampMs: number): void {
  const last = entries[entries.length - 1]!;
  const extent = segment.extent;
  extent.entryCount += entries.length;
  extent.storeBytes += bytes;
  extent.nextOffset = last.baseOffset + (last.kind === EntryKind.Records ? last.records.length : 0);
  extent.lastTerm = last.term;
  extent.lastTimestampMs = timestampMs;
}

function closedError(): LogError {
  return new LogError("CLOSED", "Cannot use the log: it is closed");
}
