/**
 * Opening the segments of a data directory after a clean close or a crash.
 *
 * Sealed segments (all but the last) were fsynced when the log rolled past them, so they get
 * O(1) checks: their index must hold exactly the entries between their base index and the
 * next segment's, and point inside the store. If not, the index is rebuilt from the store.
 * The last segment is trusted the same way only after a clean close (a `CLEAN` marker, like
 * Kafka's clean-shutdown file); after a crash its store is walked frame by frame, checksums
 * verified, the torn or corrupt tail cut off and the index rebuilt from what survived. Index
 * entries are only ever derived from verified frames, so zeros or garbage in an index file
 * are never read back as entries.
 * @module
 */

import {
  decodeSegmentHeader,
  encodeIndexEntry,
  FRAME_HEADER_BYTES,
  frameDefect,
  INDEX_ENTRY_BYTES,
  readFrameHeader,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
} from "./_codec.ts";
import { ignoreNotFound, readFully, Segment, type SegmentExtent, syncDir } from "./_segment.ts";
import { EntryKind, LogError } from "./types.ts";

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
const STORE_NAME = /^(\d{20})\.store$/;
const INDEX_NAME = /^(\d{20})\.index$/;

/** Lists segment base indexes present in `dir`, sorted, deleting orphan index files. */
async function listSegments(dir: string): Promise<number[]> {
  const stores = new Set<number>();
  const indexes: number[] = [];
  for await (const item of Deno.readDir(dir)) {
    const store = STORE_NAME.exec(item.name);
    if (store !== null) stores.add(Number(store[1]));
    const index = INDEX_NAME.exec(item.name);
    if (index !== null) indexes.push(Number(index[1]));
  }
  for (const base of indexes) {
    if (!stores.has(base)) {
      await Deno.remove(`${dir}/${String(base).padStart(20, "0")}.index`).catch(ignoreNotFound);
    }
  }
  return [...stores].sort((a, b) => a - b);
}

/** A segment's files opened for reading, with its header; null if the header is torn. */
async function openSegmentFiles(
  dir: string,
  base: number,
): Promise<{ header: SegmentHeader; store: Deno.FsFile; index: Deno.FsFile } | null> {
  const name = String(base).padStart(20, "0");
  const storePath = `${dir}/${name}.store`;
  const store = await Deno.open(storePath, { read: true });
  if (store.statSync().size < SEGMENT_HEADER_BYTES) {
    store.close();
    return null;
  }
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  readFully(store, 0, bytes, storePath);
  let header: SegmentHeader;
  try {
    header = decodeSegmentHeader(bytes, storePath);
  } catch (error) {
    store.close();
    throw error;
  }
  if (header.baseIndex !== base) {
    store.close();
    throw new LogError(
      "CORRUPT",
      `Cannot open segment ${storePath}: its header says base index ${header.baseIndex}`,
    );
  }
  // A store without an index file is a crash between creating the two; the index is rebuilt.
  const indexPath = `${dir}/${name}.index`;
  const index = await Deno.open(indexPath, { read: true, write: true, create: true });
  return { header, store, index };
}

/** The result of walking a store's frames. */
interface ScanResult {
  readonly extent: SegmentExtent;
  /** Index entries of every intact frame, ready to be written as the index file. */
  readonly index: Uint8Array;
  /** Why the walk stopped before the end of the store, or null if it reached the end. */
  readonly defect: string | null;
}

/**
 * Walks the frames of `segment`'s store from its header to `storeSize`, verifying each
 * frame's checksum and that indexes and offsets continue. Reads in large chunks.
 */
function scanStore(segment: Segment, storeSize: number): ScanResult {
  const extent: SegmentExtent = {
    entryCount: 0,
    storeBytes: SEGMENT_HEADER_BYTES,
    nextOffset: segment.baseOffset,
    lastTerm: segment.prevTerm,
    lastTimestampMs: null,
  };
  // Grown by doubling: one buffer, not an object per entry (a segment may hold 500k entries).
  let index = new Uint8Array(INDEX_ENTRY_BYTES * 1024);
  let chunk: Uint8Array = new Uint8Array(0);
  let chunkStart = SEGMENT_HEADER_BYTES;
  let defect: string | null = null;
  // Each iteration consumes one frame of >= FRAME_HEADER_BYTES, so it ends within
  // storeSize / FRAME_HEADER_BYTES iterations.
  while (extent.storeBytes < storeSize) {
    const position = extent.storeBytes;
    if (position + FRAME_HEADER_BYTES > storeSize) {
      defect = "a torn frame header";
      break;
    }
    let header = readFrameHeader(chunk, position - chunkStart);
    if (header === null || position + header.frameBytes > chunkStart + chunk.length) {
      const want = Math.max(SCAN_CHUNK_BYTES, header?.frameBytes ?? 0);
      chunkStart = position;
      chunk = segment.readStore(position, Math.min(want, storeSize - position));
      header = readFrameHeader(chunk, 0)!;
    }
    const expectedIndex = segment.baseIndex + extent.entryCount;
    const at = position - chunkStart;
    defect = checkFrame(chunk, at, header, extent, storeSize - position, expectedIndex);
    if (defect !== null) break;
    const slot = extent.entryCount * INDEX_ENTRY_BYTES;
    if (slot + INDEX_ENTRY_BYTES > index.length) {
      const grown = new Uint8Array(index.length * 2);
      grown.set(index);
      index = grown;
    }
    encodeIndexEntry(new DataView(index.buffer), slot, position, header.baseOffset, header.term);
    extent.entryCount += 1;
    extent.storeBytes += header.frameBytes;
    extent.nextOffset = header.baseOffset +
      (header.kind === EntryKind.Records ? header.recordCount : 0);
    extent.lastTerm = header.term;
    extent.lastTimestampMs = header.timestampMs;
  }
  return { extent, index: index.subarray(0, extent.entryCount * INDEX_ENTRY_BYTES), defect };
}

function checkFrame(
  chunk: Uint8Array,
  at: number,
  header: NonNullable<ReturnType<typeof readFrameHeader>>,
  extent: SegmentExtent,
  bytesLeft: number,
  expectedIndex: number,
): string | null {
  if (header.frameBytes < FRAME_HEADER_BYTES || header.frameBytes > bytesLeft) {
    return "a torn or mis-sized frame";
  }
  const why = frameDefect(chunk, at, header.frameBytes);
  if (why !== null) return `a frame that ${why}`;
  if (header.index !== expectedIndex) return `entry ${header.index} where ${expectedIndex} belongs`;
  if (header.baseOffset !== extent.nextOffset) {
    return `base offset ${header.baseOffset} where ${extent.nextOffset} belongs`;
  }
  if (header.term < extent.lastTerm) return `term ${header.term} after term ${extent.lastTerm}`;
  return null;
}

type Sizes = { storeBytes: number; indexBytes: number };

/** O(1) checks of a sealed segment against the header of the segment after it. */
function trustSealed(segment: Segment, sizes: Sizes, next: SegmentHeader): SegmentExtent | null {
  const count = next.baseIndex - segment.baseIndex;
  if (count < 0 || sizes.indexBytes !== count * INDEX_ENTRY_BYTES) return null;
  const extent: SegmentExtent = {
    entryCount: count,
    storeBytes: sizes.storeBytes,
    nextOffset: next.baseOffset,
    lastTerm: next.prevTerm,
    lastTimestampMs: null,
  };
  if (count === 0) return sizes.storeBytes === SEGMENT_HEADER_BYTES ? extent : null;
  if (segment.indexEntry(0).position !== SEGMENT_HEADER_BYTES) return null;
  const last = segment.indexEntry(count - 1);
  const inside = last.position >= SEGMENT_HEADER_BYTES &&
    last.position + FRAME_HEADER_BYTES <= sizes.storeBytes;
  return inside && last.term === next.prevTerm && last.baseOffset <= next.baseOffset
    ? extent
    : null;
}

/** O(1) checks of the last segment after a clean close: its last frame ends the store. */
function trustLast(segment: Segment, sizes: Sizes): SegmentExtent | null {
  if (sizes.indexBytes % INDEX_ENTRY_BYTES !== 0) return null;
  const count = sizes.indexBytes / INDEX_ENTRY_BYTES;
  if (count === 0) {
    if (sizes.storeBytes !== SEGMENT_HEADER_BYTES) return null;
    return {
      entryCount: 0,
      storeBytes: SEGMENT_HEADER_BYTES,
      nextOffset: segment.baseOffset,
      lastTerm: segment.prevTerm,
      lastTimestampMs: null,
    };
  }
  const last = segment.indexEntry(count - 1);
  if (last.position < SEGMENT_HEADER_BYTES) return null;
  if (last.position + FRAME_HEADER_BYTES > sizes.storeBytes) return null;
  const header = readFrameHeader(segment.readStore(last.position, FRAME_HEADER_BYTES), 0)!;
  const consistent = header.index === segment.baseIndex + count - 1 &&
    last.position + header.frameBytes === sizes.storeBytes &&
    header.baseOffset === last.baseOffset && header.term === last.term;
  if (!consistent) return null;
  return {
    entryCount: count,
    storeBytes: sizes.storeBytes,
    nextOffset: header.baseOffset + (header.kind === EntryKind.Records ? header.recordCount : 0),
    lastTerm: header.term,
    lastTimestampMs: header.timestampMs,
  };
}

/** Opens every segment of `dir`; `clean` says the last close completed. */
export async function recoverSegments(dir: string, clean: boolean): Promise<Segment[]> {
  const bases = await listSegments(dir);
  const opened: { header: SegmentHeader; store: Deno.FsFile; index: Deno.FsFile }[] = [];
  try {
    for (const [i, base] of bases.entries()) {
      const files = await openSegmentFiles(dir, base);
      if (files !== null) {
        opened.push(files);
        continue;
      }
      if (i !== bases.length - 1) {
        throw new LogError("CORRUPT", `Cannot open segment ${base} of ${dir}: its header is torn`);
      }
      // The newest segment's header never became durable: a crash while rolling.
      await Deno.remove(`${dir}/${String(base).padStart(20, "0")}.store`);
      await Deno.remove(`${dir}/${String(base).padStart(20, "0")}.index`).catch(ignoreNotFound);
      await syncDir(dir);
    }
  } catch (error) {
    for (const files of opened) {
      files.store.close();
      files.index.close();
    }
    throw error;
  }
  const segments: Segment[] = [];
  try {
    for (const [i, files] of opened.entries()) {
      const next = opened[i + 1]?.header ?? null;
      segments.push(await recoverSegment(dir, files, next, clean));
    }
  } catch (error) {
    for (const segment of segments) segment.close();
    for (const files of opened.slice(segments.length)) {
      files.store.close();
      files.index.close();
    }
    throw error;
  }
  return segments;
}

async function recoverSegment(
  dir: string,
  files: { header: SegmentHeader; store: Deno.FsFile; index: Deno.FsFile },
  next: SegmentHeader | null,
  clean: boolean,
): Promise<Segment> {
  const placeholder: SegmentExtent = {
    entryCount: 0,
    storeBytes: SEGMENT_HEADER_BYTES,
    nextOffset: files.header.baseOffset,
    lastTerm: files.header.prevTerm,
    lastTimestampMs: null,
  };
  const segment = new Segment(dir, files.header, placeholder, files);
  const sizes = segment.fileSizes();
  const trusted = next !== null
    ? trustSealed(segment, sizes, next)
    : clean
    ? trustLast(segment, sizes)
    : null;
  if (trusted !== null) {
    Object.assign(segment.extent, trusted);
    return segment;
  }
  const scan = scanStore(segment, sizes.storeBytes);
  Object.assign(segment.extent, scan.extent);
  if (next !== null) {
    const fits = scan.defect === null && segment.endIndex === next.baseIndex &&
      scan.extent.nextOffset === next.baseOffset;
    if (!fits) {
      // The caller closes this segment's files with the others still open.
      throw new LogError(
        "CORRUPT",
        `Cannot open sealed segment ${segment.storePath}: its index disagrees with its store ` +
          `and the store cannot be walked to the next segment (${scan.defect ?? "gap"})`,
      );
    }
  } else if (scan.extent.storeBytes < sizes.storeBytes) {
    // The torn or corrupt tail of the last segment: never acknowledged under `always`.
    await segment.truncateFiles(0, scan.extent.storeBytes);
  }
  await segment.rewriteIndex(scan.index);
  segment.closeWriters();
  return segment;
}
