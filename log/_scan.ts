/**
 * Walking a store's frames when its index cannot be trusted (after a crash, or when the index
 * disagrees with the store).
 *
 * Every frame is verified (checksum, and that its index, base offset and term continue the
 * sequence). At a frame that fails, the walk looks for the next frame that verifies and
 * continues the sequence. What it finds decides what the damage is:
 * - intact frames follow: the damage hit acknowledged data. The entries between are kept as a
 *   damaged range (their offsets stay reserved and read as `CORRUPT`) and never cut;
 * - nothing valid follows: a torn tail (a write cut short by a crash), which the caller may cut
 *   in the last segment. In a sealed segment the next segment's header says which entries and
 *   offsets the damage holds, so there it is a damaged range too.
 * @module
 */

import {
  encodeIndexEntry,
  FRAME_HEADER_BYTES,
  frameDefect,
  type FrameHeader,
  getU64,
  INDEX_ENTRY_BYTES,
  readFrameHeader,
  RECORD_LENGTH_BYTES,
  SEGMENT_HEADER_BYTES,
} from "./_codec.ts";
import type { Segment, SegmentExtent } from "./_segment.ts";
import { EntryKind } from "./types.ts";

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

/** What the next segment's header says about the end of a sealed segment. */
export interface ScanBounds {
  /** Index of the next segment's first entry: this segment's entries end before it. */
  readonly endIndex: number;
  /** The next segment's base offset: this segment's offsets end before it. */
  readonly endOffset: number;
  /** Term of this segment's last entry (the next segment's `prevTerm`). */
  readonly endTerm: number;
}

/** Damaged entries kept in place: `[firstIndex, endIndex)`, offsets `[firstOffset, endOffset)`. */
export interface DamagedRange {
  readonly position: number;
  readonly bytes: number;
  readonly firstIndex: number;
  readonly endIndex: number;
  readonly firstOffset: number;
  readonly endOffset: number;
  readonly reason: string;
}

/** Damage that reaches the end of the store with nothing valid after it. */
export interface TornTail {
  readonly position: number;
  readonly bytes: number;
  /** Index the first cut entry had (the index the next append gets). */
  readonly firstIndex: number;
  /** Offset the first cut record had (the offset the next append gets). */
  readonly firstOffset: number;
  readonly reason: string;
}

/** The result of walking a store's frames. */
export interface ScanResult {
  readonly extent: SegmentExtent;
  /** Index entries of every entry (intact or damaged), ready to be written as the index. */
  readonly index: Uint8Array;
  readonly damaged: readonly DamagedRange[];
  /** The torn tail; null if the walk reached the end of the store. */
  readonly tail: TornTail | null;
}

/** Reads a store in large chunks; frames are verified in place. */
class StoreWindow {
  readonly #segment: Segment;
  readonly size: number;
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.bytes.buffer);
  start = 0;

  constructor(segment: Segment, size: number) {
    this.#segment = segment;
    this.size = size;
  }

  /** Makes store bytes `[position, position + length)` available; returns their start. */
  load(position: number, length: number): number {
    const end = position + length;
    if (position < this.start || end > this.start + this.bytes.length) {
      this.start = position;
      const want = Math.max(SCAN_CHUNK_BYTES, length);
      this.bytes = this.#segment.readStore(position, Math.min(want, this.size - position));
      this.view = new DataView(this.bytes.buffer);
    }
    return position - this.start;
  }
}

/** Index entries, grown by doubling: one buffer, not an object per entry. */
class IndexBuilder {
  bytes = new Uint8Array(INDEX_ENTRY_BYTES * 1024);
  count = 0;

  add(position: number, baseOffset: number, term: number): void {
    const slot = this.count * INDEX_ENTRY_BYTES;
    if (slot + INDEX_ENTRY_BYTES > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    encodeIndexEntry(new DataView(this.bytes.buffer), slot, position, baseOffset, term);
    this.count += 1;
  }
}

/** Where the walk stands: the extent so far and the entry index the next frame must hold. */
interface Cursor {
  readonly extent: SegmentExtent;
  readonly baseIndex: number;
}

function expectedIndex(cursor: Cursor): number {
  return cursor.baseIndex + cursor.extent.entryCount;
}

/**
 * Walks the frames of `segment`'s store from its header to `storeSize`. `bounds` (a sealed
 * segment) says where its entries and offsets end; null for the last segment. `clean` (the
 * last segment after a clean close, whose bytes were all fsynced: nothing can be torn) keeps
 * damage at the end of the store instead of calling it a torn tail.
 */
export function scanStore(
  segment: Segment,
  storeSize: number,
  bounds: ScanBounds | null,
  clean: boolean,
): ScanResult {
  const extent: SegmentExtent = {
    entryCount: 0,
    storeBytes: SEGMENT_HEADER_BYTES,
    nextOffset: segment.baseOffset,
    lastTerm: segment.prevTerm,
    lastTimestampMs: null,
  };
  const cursor: Cursor = { extent, baseIndex: segment.baseIndex };
  const window = new StoreWindow(segment, storeSize);
  const index = new IndexBuilder();
  const damaged: DamagedRange[] = [];
  let tail: TornTail | null = null;
  // Each iteration consumes a verified frame (>= FRAME_HEADER_BYTES), or jumps over a damaged
  // range to a later frame or to the end: at most storeSize / FRAME_HEADER_BYTES iterations.
  while (extent.storeBytes < storeSize) {
    const position = extent.storeBytes;
    const verdict = verifyFrameAt(window, position, cursor, bounds);
    if (typeof verdict !== "string") {
      index.add(position, verdict.baseOffset, verdict.term);
      advance(extent, verdict);
      continue;
    }
    const end = rangeEnd(findNextFrame(window, position, cursor, bounds), cursor, bounds, {
      clean,
      storeSize,
    });
    if (end === null) {
      tail = {
        position,
        bytes: storeSize - position,
        firstIndex: expectedIndex(cursor),
        firstOffset: extent.nextOffset,
        reason: verdict,
      };
      break;
    }
    damaged.push(keepDamaged(cursor, index, position, end, verdict));
  }
  if (tail === null && owesEntries(cursor, bounds)) {
    // The store ends at a frame boundary short of the entries the next segment follows.
    const reason = "the store ends before the entries the next segment follows";
    const end = rangeEnd(null, cursor, bounds, { clean, storeSize })!;
    damaged.push(keepDamaged(cursor, index, storeSize, end, reason));
  }
  return {
    extent,
    index: index.bytes.subarray(0, index.count * INDEX_ENTRY_BYTES),
    damaged,
    tail,
  };
}

/**
 * A sealed segment whose walk has not reached the entries its successor follows (with offsets
 * not past the successor's: otherwise the segments disagree, which the caller reports).
 */
function owesEntries(cursor: Cursor, bounds: ScanBounds | null): boolean {
  return bounds !== null && expectedIndex(cursor) < bounds.endIndex &&
    cursor.extent.nextOffset <= bounds.endOffset;
}

function advance(extent: SegmentExtent, header: FrameHeader): void {
  extent.entryCount += 1;
  extent.storeBytes += header.frameBytes;
  extent.nextOffset = header.baseOffset +
    (header.kind === EntryKind.Records ? header.recordCount : 0);
  extent.lastTerm = header.term;
  extent.lastTimestampMs = header.timestampMs;
}

/** Where a damaged range ends: the entry, offset and store position after it. */
interface RangeEnd {
  readonly position: number;
  readonly index: number;
  readonly offset: number;
  /** Term of the range's last entry when known (a sealed segment's end), else null. */
  readonly lastTerm: number | null;
}

/**
 * Where the damage that starts at the cursor ends: at `next` (a verified frame after it); at
 * the end of a sealed segment, whose successor's header says which entries and offsets it
 * holds; at the end of a cleanly closed last segment, as one entry whose record count is not
 * known, so it reserves as many offsets as its bytes could hold (each record takes at least
 * 4 bytes) rather than risk handing one out twice. Null: a torn tail, to be cut.
 */
function rangeEnd(
  next: Located | null,
  cursor: Cursor,
  bounds: ScanBounds | null,
  context: { readonly clean: boolean; readonly storeSize: number },
): RangeEnd | null {
  if (next !== null) {
    return {
      position: next.position,
      index: next.header.index,
      offset: next.header.baseOffset,
      lastTerm: null,
    };
  }
  const { storeSize } = context;
  if (owesEntries(cursor, bounds)) {
    return {
      position: storeSize,
      index: bounds!.endIndex,
      offset: bounds!.endOffset,
      lastTerm: bounds!.endTerm,
    };
  }
  if (bounds !== null || !context.clean) return null;
  const bytes = storeSize - cursor.extent.storeBytes;
  const recordsMax = Math.floor(Math.max(0, bytes - FRAME_HEADER_BYTES) / RECORD_LENGTH_BYTES);
  return {
    position: storeSize,
    index: expectedIndex(cursor) + 1,
    offset: cursor.extent.nextOffset + recordsMax,
    lastTerm: null,
  };
}

/**
 * Records the damaged entries from store `position` up to `end`. Every one gets an index
 * entry at `position` with the range's first offset, so each of the range's offsets finds the
 * range's last entry, whose frame (the whole range) fails verification: reads get `CORRUPT`,
 * and no offset of the range is ever handed out again. Their terms are not known; they get the
 * term before the damage (the last one `end.lastTerm` when known).
 */
function keepDamaged(
  cursor: Cursor,
  index: IndexBuilder,
  position: number,
  end: RangeEnd,
  reason: string,
): DamagedRange {
  const extent = cursor.extent;
  const firstIndex = expectedIndex(cursor);
  const firstOffset = extent.nextOffset;
  for (let i = firstIndex; i < end.index; i++) {
    const last = i === end.index - 1 && end.lastTerm !== null;
    index.add(position, firstOffset, last ? end.lastTerm! : extent.lastTerm);
  }
  extent.entryCount += end.index - firstIndex;
  extent.storeBytes = end.position;
  extent.nextOffset = end.offset;
  if (end.lastTerm !== null) extent.lastTerm = end.lastTerm;
  extent.lastTimestampMs = null;
  return {
    position,
    bytes: end.position - position,
    firstIndex,
    endIndex: end.index,
    firstOffset,
    endOffset: end.offset,
    reason,
  };
}

/** The verified header of the frame at `position`, or why it fails. */
function verifyFrameAt(
  window: StoreWindow,
  position: number,
  cursor: Cursor,
  bounds: ScanBounds | null,
): FrameHeader | string {
  if (position + FRAME_HEADER_BYTES > window.size) return "a torn frame header";
  const headerAt = window.load(position, FRAME_HEADER_BYTES);
  const header = readFrameHeader(window.bytes, headerAt)!;
  if (header.frameBytes < FRAME_HEADER_BYTES || position + header.frameBytes > window.size) {
    return "a torn or mis-sized frame";
  }
  const at = window.load(position, header.frameBytes);
  const why = frameDefect(window.bytes, at, header.frameBytes);
  if (why !== null) return `a frame that ${why}`;
  const extent = cursor.extent;
  const expected = expectedIndex(cursor);
  if (header.index !== expected) return `entry ${header.index} where ${expected} belongs`;
  if (header.baseOffset !== extent.nextOffset) {
    return `base offset ${header.baseOffset} where ${extent.nextOffset} belongs`;
  }
  if (header.term < extent.lastTerm) return `term ${header.term} after term ${extent.lastTerm}`;
  if (bounds !== null && !withinBounds(header, bounds)) {
    return `entry ${header.index} beyond the entries the next segment follows`;
  }
  return header;
}

function withinBounds(header: FrameHeader, bounds: ScanBounds): boolean {
  const records = header.kind === EntryKind.Records ? header.recordCount : 0;
  return header.index < bounds.endIndex && header.baseOffset + records <= bounds.endOffset &&
    header.term <= bounds.endTerm;
}

/** A verified frame found after damage. */
interface Located {
  readonly position: number;
  readonly header: FrameHeader;
}

/**
 * The first frame after the damage at `damageAt` that verifies and continues the sequence:
 * a later entry index, an offset not below the next one, a term not below the last one — and
 * no more missing entries (each >= FRAME_HEADER_BYTES) or records (each >= 4 bytes) than the
 * skipped bytes can hold, which rejects stale or stray frame images. Tried first where the
 * damaged frame's own length says the next frame starts (damage in a payload leaves the length
 * intact, and a frame image inside the payload cannot win), then at every byte, so the
 * earliest intact frame wins (damage in a length field): bounded by the store size.
 */
function findNextFrame(
  window: StoreWindow,
  damageAt: number,
  cursor: Cursor,
  bounds: ScanBounds | null,
): Located | null {
  if (damageAt + FRAME_HEADER_BYTES <= window.size) {
    const at = window.load(damageAt, FRAME_HEADER_BYTES);
    const declared = window.view.getUint32(at, true) + 8;
    const hinted = damageAt + declared;
    if (declared >= FRAME_HEADER_BYTES && hinted + FRAME_HEADER_BYTES <= window.size) {
      const found = candidateAt(window, hinted, damageAt, cursor, bounds);
      // Only the very next entry: a damaged length could point past intact frames.
      if (found !== null && found.header.index === expectedIndex(cursor) + 1) return found;
    }
  }
  for (let position = damageAt + 1; position + FRAME_HEADER_BYTES <= window.size; position++) {
    const found = candidateAt(window, position, damageAt, cursor, bounds);
    if (found !== null) return found;
  }
  return null;
}

/** The frame at `position` if it verifies and can follow the damage at `damageAt`. */
function candidateAt(
  window: StoreWindow,
  position: number,
  damageAt: number,
  cursor: Cursor,
  bounds: ScanBounds | null,
): Located | null {
  const at = window.load(position, FRAME_HEADER_BYTES);
  const skipped = position - damageAt;
  const missing = getU64(window.view, at + 24) - expectedIndex(cursor);
  // The cheap test first: almost every byte position fails it.
  if (missing < 1 || missing * FRAME_HEADER_BYTES > skipped) return null;
  const header = readFrameHeader(window.bytes, at)!;
  const extent = cursor.extent;
  const missingRecords = header.baseOffset - extent.nextOffset;
  if (missingRecords < 0 || missingRecords * RECORD_LENGTH_BYTES > skipped) return null;
  if (header.term < extent.lastTerm) return null;
  if (bounds !== null && !withinBounds(header, bounds)) return null;
  if (header.frameBytes < FRAME_HEADER_BYTES || position + header.frameBytes > window.size) {
    return null;
  }
  const frameAt = window.load(position, header.frameBytes);
  if (frameDefect(window.bytes, frameAt, header.frameBytes) !== null) return null;
  return { position, header };
}
