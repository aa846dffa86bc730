/**
 * One segment: a store file (segment header + frames) and an index file (fixed-width entries,
 * one per frame). Reads are synchronous positional reads on a read-only handle; writes go
 * through a separate append-mode handle so an in-flight write never moves the read position.
 * @module
 */

import {
  decodeIndexEntry,
  encodeSegmentHeader,
  INDEX_ENTRY_BYTES,
  type IndexEntry,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
} from "./_codec.ts";
import type { LogFile, LogFs } from "./_fs.ts";
import { LogError } from "./types.ts";

/** File name of a segment's store or index: the base index, zero-padded so names sort. */
export function segmentFileName(baseIndex: number, extension: "store" | "index"): string {
  return `${String(baseIndex).padStart(20, "0")}.${extension}`;
}

/** Reads exactly `target.length` bytes at `position`; throws `CORRUPT` if the file is short. */
export function readFully(file: LogFile, position: number, target: Uint8Array, path: string) {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  // Each read makes progress or hits end of file, so the loop is bounded by target.length.
  while (done < target.length) {
    const n = file.readSync(target.subarray(done));
    if (n === null || n === 0) {
      throw new LogError(
        "CORRUPT",
        `Cannot read ${target.length} bytes at position ${position} of ${path}: ` +
          `the file ends at ${position + done}`,
      );
    }
    done += n;
  }
}

/** Writes all of `bytes` synchronously (each iteration makes progress). */
function writeFullySync(file: LogFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/** Writes all of `bytes` (a write may be partial; each iteration makes progress). */
async function writeFully(file: LogFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** What a segment holds once recovered or appended to (all "visible" state). */
export interface SegmentExtent {
  /** Number of entries (index file entries that readers may use). */
  entryCount: number;
  /** Store bytes that readers may use, header included. */
  storeBytes: number;
  /** Offset the record after this segment's last record gets. */
  nextOffset: number;
  /** Term of the last entry, or `prevTerm` when empty. */
  lastTerm: number;
  /** Append time of the last entry (ms), or null if not known yet (read lazily). */
  lastTimestampMs: number | null;
}

/** A segment of the file log. */
export class Segment implements SegmentHeader {
  readonly baseIndex: number;
  readonly baseOffset: number;
  readonly prevTerm: number;
  readonly storePath: string;
  readonly indexPath: string;
  readonly extent: SegmentExtent;
  /** The file system the segment's files live on. */
  readonly fs: LogFs;
  readonly #storeReader: LogFile;
  readonly #indexReader: LogFile;
  #storeWriter: LogFile | null = null;
  #indexWriter: LogFile | null = null;
  /**
   * Index entries rebuilt from the store while the log runs (the file's disagreed), used
   * instead of the index file until the file is rewritten. Null: the file is used.
   */
  #override: { bytes: Uint8Array; count: number } | null = null;
  /**
   * The index is known to agree with the store: rebuilt from verified frames at open, checked
   * against the store once already, or written by this process from the start. A trusted
   * index (O(1) checks at open) is checked against the store the first time a read fails.
   */
  indexVerified = false;

  constructor(
    dir: string,
    header: SegmentHeader,
    extent: SegmentExtent,
    readers: { store: LogFile; index: LogFile },
    fs: LogFs,
  ) {
    this.fs = fs;
    this.baseIndex = header.baseIndex;
    this.baseOffset = header.baseOffset;
    this.prevTerm = header.prevTerm;
    this.storePath = `${dir}/${segmentFileName(header.baseIndex, "store")}`;
    this.indexPath = `${dir}/${segmentFileName(header.baseIndex, "index")}`;
    this.extent = extent;
    this.#storeReader = readers.store;
    this.#indexReader = readers.index;
  }

  /** Creates the files of a new, empty segment; the store header is fsynced. */
  static async create(fs: LogFs, dir: string, header: SegmentHeader): Promise<Segment> {
    const storePath = `${dir}/${segmentFileName(header.baseIndex, "store")}`;
    const indexPath = `${dir}/${segmentFileName(header.baseIndex, "index")}`;
    // The index is created first and the store (with its header) last: a store file is what
    // makes a segment exist, so a crash in between leaves only an orphan index to delete.
    // truncate: a leftover file of the same name can only be debris of a crashed restart.
    const index = await fs.open(indexPath, { write: true, create: true, truncate: true });
    index.close();
    const store = await fs.open(storePath, { write: true, create: true, truncate: true });
    try {
      await writeFully(store, encodeSegmentHeader(header));
      await store.syncData();
    } finally {
      store.close();
    }
    const extent: SegmentExtent = {
      entryCount: 0,
      storeBytes: SEGMENT_HEADER_BYTES,
      nextOffset: header.baseOffset,
      lastTerm: header.prevTerm,
      lastTimestampMs: null,
    };
    const readers = {
      store: await fs.open(storePath, { read: true }),
      index: await fs.open(indexPath, { read: true }),
    };
    const segment = new Segment(dir, header, extent, readers, fs);
    segment.indexVerified = true;
    return segment;
  }

  /** Index of the entry after the last one. */
  get endIndex(): number {
    return this.baseIndex + this.extent.entryCount;
  }

  /** Reads `count` index entries from entry number `first` (0-based within the segment). */
  readIndexEntries(first: number, count: number): DataView {
    const override = this.#override;
    if (override !== null) {
      if (first < 0 || count < 0 || first + count > override.count) {
        throw new LogError(
          "CORRUPT",
          `Cannot read index entries ${first} to ${first + count - 1} of ${this.indexPath}: ` +
            `the rebuilt index holds ${override.count}`,
        );
      }
      const start = override.bytes.byteOffset + first * INDEX_ENTRY_BYTES;
      return new DataView(override.bytes.buffer, start, count * INDEX_ENTRY_BYTES);
    }
    const bytes = new Uint8Array(count * INDEX_ENTRY_BYTES);
    readFully(this.#indexReader, first * INDEX_ENTRY_BYTES, bytes, this.indexPath);
    return new DataView(bytes.buffer);
  }

  /** The index entry of entry number `k` (0-based within the segment). */
  indexEntry(k: number): IndexEntry {
    return decodeIndexEntry(this.readIndexEntries(k, 1), 0);
  }

  /** Reads store bytes `[position, position + length)` into a new buffer. */
  readStore(position: number, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    readFully(this.#storeReader, position, bytes, this.storePath);
    return bytes;
  }

  /** Current sizes of the store and index files on disk (not the visible extent). */
  fileSizes(): { storeBytes: number; indexBytes: number } {
    return {
      storeBytes: this.#storeReader.statSync().size,
      indexBytes: this.#indexReader.statSync().size,
    };
  }

  /**
   * Entry number (0-based) of the last entry whose base offset is <= `offset`, by binary
   * search over the index entries (O(log n) positional reads). -1 if none.
   */
  findByOffset(offset: number): number {
    let low = 0;
    let high = this.extent.entryCount - 1;
    let found = -1;
    // Halves [low, high] each step: at most 64 iterations for any safe integer count.
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.indexEntry(middle).baseOffset <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  async #writers(): Promise<{ store: LogFile; index: LogFile }> {
    this.#storeWriter ??= await this.fs.open(this.storePath, { write: true, append: true });
    this.#indexWriter ??= await this.fs.open(this.indexPath, { write: true, append: true });
    return { store: this.#storeWriter, index: this.#indexWriter };
  }

  /**
   * Appends frames to the store, then their index entries (never the other way round).
   * Synchronous on purpose: a write into the page cache is a memcpy (microseconds, bounded by
   * the group size), far cheaper than a round trip through the async op thread pool; only
   * the fsync, which takes the disk's time, is asynchronous.
   */
  async write(frames: Uint8Array, indexEntries: Uint8Array): Promise<void> {
    const writers = await this.#writers();
    writeFullySync(writers.store, frames);
    writeFullySync(writers.index, indexEntries);
    if (this.#override !== null) this.#appendOverride(indexEntries);
  }

  /** Reads the whole index file as it is on disk (for checking it against the store). */
  readIndexFile(): Uint8Array {
    const bytes = new Uint8Array(this.#indexReader.statSync().size);
    readFully(this.#indexReader, 0, bytes, this.indexPath);
    return bytes;
  }

  /** Serves index reads from `entries` (rebuilt from the store) instead of the index file. */
  useRebuiltIndex(entries: Uint8Array): void {
    this.#override = { bytes: new Uint8Array(0), count: 0 };
    this.#appendOverride(entries);
  }

  /** Whether index reads are served from a rebuilt index not yet written to the file. */
  get indexRebuiltInMemory(): boolean {
    return this.#override !== null;
  }

  /** Writes the rebuilt index to the index file (synced) and serves reads from it again. */
  async persistRebuiltIndex(): Promise<void> {
    const override = this.#override;
    if (override === null) return;
    await this.rewriteIndex(override.bytes.slice(0, override.count * INDEX_ENTRY_BYTES));
  }

  #appendOverride(entries: Uint8Array): void {
    const override = this.#override!;
    const used = override.count * INDEX_ENTRY_BYTES;
    if (used + entries.length > override.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * override.bytes.length, used + entries.length));
      grown.set(override.bytes.subarray(0, used));
      override.bytes = grown;
    }
    override.bytes.set(entries, used);
    override.count += entries.length / INDEX_ENTRY_BYTES;
  }

  /** fdatasync of the store (the index is rebuilt from the store after a crash). */
  async syncStore(): Promise<void> {
    const writers = await this.#writers();
    await writers.store.syncData();
  }

  /** fdatasync of both files: used when sealing a segment and on close. */
  async syncAll(): Promise<void> {
    const writers = await this.#writers();
    await writers.store.syncData();
    await writers.index.syncData();
  }

  /**
   * Cuts the files to `entryCount` entries ending at store position `storeBytes`. The store
   * is cut and synced first: a crash in between leaves index entries past the store end,
   * which recovery drops.
   */
  async truncateFiles(entryCount: number, storeBytes: number): Promise<void> {
    const writers = await this.#writers();
    await writers.store.truncate(storeBytes);
    await writers.store.syncData();
    await writers.index.truncate(entryCount * INDEX_ENTRY_BYTES);
    await writers.index.syncData();
    if (this.#override !== null) this.#override.count = Math.min(this.#override.count, entryCount);
  }

  /** Replaces the whole index file with `bytes` (recovery's rebuild), synced. */
  async rewriteIndex(bytes: Uint8Array): Promise<void> {
    const writers = await this.#writers();
    await writers.index.truncate(0);
    await writeFully(writers.index, bytes);
    await writers.index.syncData();
    this.#override = null;
    this.indexVerified = true;
  }

  /** Closes the write handles (after a final sync): the segment is sealed. */
  closeWriters(): void {
    this.#storeWriter?.close();
    this.#indexWriter?.close();
    this.#storeWriter = null;
    this.#indexWriter = null;
  }

  /** Closes every handle. */
  close(): void {
    this.closeWriters();
    this.#storeReader.close();
    this.#indexReader.close();
  }

  /** Closes and deletes both files. */
  async remove(): Promise<void> {
    this.close();
    // Store first: an index without its store is debris that opening deletes.
    await this.fs.remove(this.storePath).catch(ignoreNotFound);
    await this.fs.remove(this.indexPath).catch(ignoreNotFound);
  }
}

/** Swallows NotFound (deleting what is already gone is done); rethrows anything else. */
export function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

/** fsync of a directory, so that created, renamed and deleted names are durable. */
export async function syncDir(fs: LogFs, dir: string): Promise<void> {
  const handle = await fs.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
