/**
 * Opening the segments of a data directory after a clean close or a crash.
 *
 * Sealed segments (all but the last) were fsynced when the log rolled past them, so they get
 * O(1) checks: their index must hold exactly the entries between their base index and the
 * next segment's, and point inside the store. If not, the index is rebuilt from the store.
 * The last segment is trusted the same way only after a clean close (a `CLEAN` marker, like
 * Kafka's clean-shutdown file); after a crash its store is walked frame by frame, checksums
 * verified (`_scan.ts`), and the index rebuilt from what survived. A torn tail (damage with
 * nothing valid after it) is cut; damage followed by intact frames is acknowledged data and is
 * kept as a damaged range that reads `CORRUPT`, its offsets never handed out again. Both are
 * reported. Index entries are only ever derived from verified frames, so zeros or garbage in
 * an index file are never read back as entries.
 * @module
 */

import {
  decodeSegmentHeader,
  FRAME_HEADER_BYTES,
  frameDefect,
  INDEX_ENTRY_BYTES,
  readFrameHeader,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
} from "./_codec.ts";
import type { LogFile, LogFs } from "./_fs.ts";
import type { LogObserver, RecoveryEvent } from "./_options.ts";
import { corruptEvent, tailEvent } from "./_recovery_events.ts";
import { scanStore } from "./_scan.ts";
import { ignoreNotFound, readFully, Segment, type SegmentExtent, syncDir } from "./_segment.ts";
import { EntryKind, LogError } from "./types.ts";

/** Receives what recovery found (see `RecoveryEvent`). */
export type RecoveryReport = (event: RecoveryEvent) => void;

/** The observer's `onRecovery`, or stderr: damage the log finds is never silent. */
export function recoveryReport(observer: LogObserver): RecoveryReport {
  return observer.onRecovery ?? ((event) => console.error(`strand log: ${event.message}`));
}
const STORE_NAME = /^(\d{20})\.store$/;
const INDEX_NAME = /^(\d{20})\.index$/;

/** Lists segment base indexes present in `dir`, sorted, deleting orphan index files. */
async function listSegments(fs: LogFs, dir: string): Promise<number[]> {
  const stores = new Set<number>();
  const indexes: number[] = [];
  for await (const item of fs.readDir(dir)) {
    const store = STORE_NAME.exec(item.name);
    if (store !== null) stores.add(Number(store[1]));
    const index = INDEX_NAME.exec(item.name);
    if (index !== null) indexes.push(Number(index[1]));
  }
  for (const base of indexes) {
    if (!stores.has(base)) {
      await fs.remove(`${dir}/${String(base).padStart(20, "0")}.index`).catch(ignoreNotFound);
    }
  }
  return [...stores].sort((a, b) => a - b);
}

/** A segment's files opened for reading, with its header; null if the header is torn. */
async function openSegmentFiles(
  fs: LogFs,
  dir: string,
  base: number,
): Promise<{ header: SegmentHeader; store: LogFile; index: LogFile } | null> {
  const name = String(base).padStart(20, "0");
  const storePath = `${dir}/${name}.store`;
  const store = await fs.open(storePath, { read: true });
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
  const index = await fs.open(indexPath, { read: true, write: true, create: true });
  return { header, store, index };
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

/**
 * O(1) checks of the last segment after a clean close: its last frame verifies and ends the
 * store.
 */
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
  // The last frame is verified whole (one frame: O(1)): its record count sets nextOffset.
  const frame = segment.readStore(last.position, header.frameBytes);
  if (frameDefect(frame, 0, frame.length) !== null) return null;
  return {
    entryCount: count,
    storeBytes: sizes.storeBytes,
    nextOffset: header.baseOffset + (header.kind === EntryKind.Records ? header.recordCount : 0),
    lastTerm: header.term,
    lastTimestampMs: header.timestampMs,
  };
}

/**
 * Opens every segment of `dir`; `clean` says the last close completed. Damage found on the way
 * goes to `report`.
 */
export async function recoverSegments(
  fs: LogFs,
  dir: string,
  clean: boolean,
  report: RecoveryReport,
): Promise<Segment[]> {
  const bases = await listSegments(fs, dir);
  const opened: { header: SegmentHeader; store: LogFile; index: LogFile }[] = [];
  try {
    for (const [i, base] of bases.entries()) {
      const files = await openSegmentFiles(fs, dir, base);
      if (files !== null) {
        opened.push(files);
        continue;
      }
      if (i !== bases.length - 1) {
        throw new LogError("CORRUPT", `Cannot open segment ${base} of ${dir}: its header is torn`);
      }
      // The newest segment's header never became durable: a crash while rolling.
      await fs.remove(`${dir}/${String(base).padStart(20, "0")}.store`);
      await fs.remove(`${dir}/${String(base).padStart(20, "0")}.index`).catch(ignoreNotFound);
      await syncDir(fs, dir);
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
      segments.push(await recoverSegment(fs, dir, files, next, clean, report));
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
  fs: LogFs,
  dir: string,
  files: { header: SegmentHeader; store: LogFile; index: LogFile },
  next: SegmentHeader | null,
  clean: boolean,
  report: RecoveryReport,
): Promise<Segment> {
  const placeholder: SegmentExtent = {
    entryCount: 0,
    storeBytes: SEGMENT_HEADER_BYTES,
    nextOffset: files.header.baseOffset,
    lastTerm: files.header.prevTerm,
    lastTimestampMs: null,
  };
  const segment = new Segment(dir, files.header, placeholder, files, fs);
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
  if (next !== null || clean) {
    const reason = "its index disagrees with its store";
    const message = `Rebuilding the index of ${segment.storePath} from its store: ${reason}`;
    report({ kind: "index_rebuilt", storePath: segment.storePath, reason, message });
  }
  const bounds = next === null
    ? null
    : { endIndex: next.baseIndex, endOffset: next.baseOffset, endTerm: next.prevTerm };
  const scan = scanStore(segment, sizes.storeBytes, bounds, clean);
  Object.assign(segment.extent, scan.extent);
  const fits = next === null ||
    (segment.endIndex === next.baseIndex && scan.extent.nextOffset === next.baseOffset);
  if (!fits) {
    // The caller closes this segment's files with the others still open.
    throw new LogError(
      "CORRUPT",
      `Cannot open sealed segment ${segment.storePath}: its entries end at index ` +
        `${segment.endIndex} and offset ${scan.extent.nextOffset}, but the next segment starts ` +
        `at index ${next!.baseIndex} and offset ${next!.baseOffset}; restore the data directory ` +
        `from a replica or a backup`,
    );
  }
  for (const range of scan.damaged) report(corruptEvent(segment.storePath, range, "at open"));
  if (scan.tail !== null) {
    report(tailEvent(segment.storePath, scan.tail, next !== null));
    await segment.truncateFiles(0, scan.tail.position);
  }
  await segment.rewriteIndex(scan.index);
  segment.closeWriters();
  return segment;
}
