/**
 * The on-disk formats of a segment, in one place.
 *
 * Store file: a 64-byte segment header, then frames back to back.
 *   segment header: magic "STRNDSEG" | u32 version | u32 crc32c(of the bytes after it)
 *     | u64 baseIndex | u64 baseOffset | u64 prevTerm | 24 bytes zero
 *   frame: u32 length (bytes after this field) | u32 crc32c(bytes after this field)
 *     | u8 kind | u8 flags (0) | u16 zero | u32 recordCount | u64 term | u64 index
 *     | u64 baseOffset | u64 timestampMs | payload
 *   payload of a records entry: (u32 length | bytes) per record; of a config entry: the data.
 *   flags bit 0 (records entries only): the payload starts with the batch data
 *     (u32 length | bytes), then the records. Frames without it (every frame written before
 *     batch data existed) decode as before; other flag bits are refused as damage.
 * Index file: fixed 24-byte entries, one per frame, written after the frame's store bytes:
 *   u64 position (of the frame in the store) | u64 baseOffset | u64 term
 *
 * All integers are little-endian; u64 values are JavaScript safe integers (< 2^53).
 * @module
 */

import { crc32c } from "./_crc32c.ts";
import { type Entry, EntryKind, LogError } from "./types.ts";

/** Bytes of the segment header at the start of every store file. */
export const SEGMENT_HEADER_BYTES = 64;
/** Bytes of a frame before its payload. */
export const FRAME_HEADER_BYTES = 48;
/** Bytes of one index entry. */
export const INDEX_ENTRY_BYTES = 24;
/** Bytes of the length prefix of each record inside a records payload. */
export const RECORD_LENGTH_BYTES = 4;

/** Frame flag: a records payload starts with the batch data (opaque to the log). */
const FLAG_RECORDS_DATA = 0x01;
/** Largest batch data a records entry may carry (producer id and sequence need ~60 bytes). */
export const RECORDS_DATA_BYTES_MAX = 1024;

const MAGIC = new TextEncoder().encode("STRNDSEG");
const FORMAT_VERSION = 1;
const TWO_TO_32 = 0x1_0000_0000;

/** Writes a safe non-negative integer as u64 little-endian. */
function setU64(view: DataView, position: number, value: number): void {
  view.setUint32(position, value >>> 0, true);
  view.setUint32(position + 4, Math.floor(value / TWO_TO_32), true);
}

/** Reads a u64 little-endian that must be a safe integer. */
export function getU64(view: DataView, position: number): number {
  return view.getUint32(position, true) + view.getUint32(position + 4, true) * TWO_TO_32;
}

/** What the segment header records: where the segment starts and the term before it. */
export interface SegmentHeader {
  readonly baseIndex: number;
  readonly baseOffset: number;
  /** Term of entry `baseIndex - 1` (Raft log matching needs it after a prefix is deleted). */
  readonly prevTerm: number;
}

/** Encodes a segment header. */
export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  setU64(view, 16, header.baseIndex);
  setU64(view, 24, header.baseOffset);
  setU64(view, 32, header.prevTerm);
  view.setUint32(12, crc32c(bytes, 0, 16, SEGMENT_HEADER_BYTES), true);
  return bytes;
}

/** Decodes a segment header, or throws `CORRUPT` naming `path`. */
export function decodeSegmentHeader(bytes: Uint8Array, path: string): SegmentHeader {
  const fail = (why: string) =>
    new LogError("CORRUPT", `Cannot open segment ${path}: its header ${why}`);
  if (bytes.length < SEGMENT_HEADER_BYTES) throw fail("is truncated");
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw fail("has a wrong magic number");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(12, true) !== crc32c(bytes, 0, 16, SEGMENT_HEADER_BYTES)) {
    throw fail("fails its checksum");
  }
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) throw fail(`has format version ${version}, not 1`);
  return { baseIndex: getU64(view, 16), baseOffset: getU64(view, 24), prevTerm: getU64(view, 32) };
}

/** Payload bytes of an entry as `bytesMax` limits count them (record values or config data). */
export function payloadBytes(entry: Entry): number {
  if (entry.kind !== EntryKind.Records) return entry.data.length;
  let total = 0;
  for (const record of entry.records) total += record.length;
  return total;
}

/** Bytes of the frame that stores `entry`. */
export function frameBytes(entry: Entry): number {
  if (entry.kind !== EntryKind.Records) return FRAME_HEADER_BYTES + entry.data.length;
  return FRAME_HEADER_BYTES + recordsDataBytes(entry) + payloadBytes(entry) +
    RECORD_LENGTH_BYTES * entry.records.length;
}

/** Bytes the batch data of a records entry takes in its frame (0 without data). */
function recordsDataBytes(entry: Entry): number {
  return entry.data.length === 0 ? 0 : RECORD_LENGTH_BYTES + entry.data.length;
}

/** Encodes `entry` into `target` at `position`; returns the frame's byte count. */
export function encodeFrame(
  entry: Entry,
  timestampMs: number,
  target: Uint8Array,
  position: number,
): number {
  const size = frameBytes(entry);
  const view = new DataView(target.buffer, target.byteOffset + position, size);
  view.setUint32(0, size - 8, true);
  const isRecords = entry.kind === EntryKind.Records;
  const hasData = isRecords && entry.data.length > 0;
  view.setUint8(8, entry.kind);
  view.setUint8(9, hasData ? FLAG_RECORDS_DATA : 0);
  view.setUint16(10, 0, true);
  view.setUint32(12, isRecords ? entry.records.length : 0, true);
  setU64(view, 16, entry.term);
  setU64(view, 24, entry.index);
  setU64(view, 32, entry.baseOffset);
  setU64(view, 40, timestampMs);
  let cursor = FRAME_HEADER_BYTES;
  if (hasData) {
    view.setUint32(cursor, entry.data.length, true);
    target.set(entry.data, position + cursor + RECORD_LENGTH_BYTES);
    cursor += RECORD_LENGTH_BYTES + entry.data.length;
  }
  if (isRecords) {
    for (const record of entry.records) {
      view.setUint32(cursor, record.length, true);
      target.set(record, position + cursor + RECORD_LENGTH_BYTES);
      cursor += RECORD_LENGTH_BYTES + record.length;
    }
  } else {
    target.set(entry.data, position + cursor);
  }
  view.setUint32(4, crc32c(target, 0, position + 8, position + size), true);
  return size;
}

/** A decoded frame: the entry plus when it was appended. */
export interface DecodedFrame {
  readonly entry: Entry;
  readonly timestampMs: number;
}

/** Frame header fields, readable without the payload (recovery walks frames with these). */
export interface FrameHeader {
  /** Whole frame bytes, including the length and checksum fields. */
  readonly frameBytes: number;
  readonly kind: number;
  readonly recordCount: number;
  readonly term: number;
  readonly index: number;
  readonly baseOffset: number;
  readonly timestampMs: number;
}

/** Reads the header of the frame at `position`; null if fewer than its header bytes remain. */
export function readFrameHeader(bytes: Uint8Array, position: number): FrameHeader | null {
  if (bytes.length - position < FRAME_HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, FRAME_HEADER_BYTES);
  return {
    frameBytes: view.getUint32(0, true) + 8,
    kind: view.getUint8(8),
    recordCount: view.getUint32(12, true),
    term: getU64(view, 16),
    index: getU64(view, 24),
    baseOffset: getU64(view, 32),
    timestampMs: getU64(view, 40),
  };
}

/** Why a frame failed verification, or null if it is intact. */
export function frameDefect(bytes: Uint8Array, position: number, size: number): string | null {
  if (size < FRAME_HEADER_BYTES || position + size > bytes.length) return "is truncated";
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, FRAME_HEADER_BYTES);
  if (view.getUint32(0, true) !== size - 8) return "has a length that disagrees with its index";
  if (view.getUint32(4, true) !== crc32c(bytes, 0, position + 8, position + size)) {
    return "fails its checksum";
  }
  const kind = view.getUint8(8);
  if (kind !== EntryKind.Records && kind !== EntryKind.Config && kind !== EntryKind.Noop) {
    return `has an unknown kind ${kind}`;
  }
  const flags = view.getUint8(9);
  const known = kind === EntryKind.Records ? FLAG_RECORDS_DATA : 0;
  if ((flags & ~known) !== 0) return `has unknown flags ${flags}`;
  return null;
}

/**
 * Decodes the frame at `position` of `size` bytes, verifying its checksum and that it holds
 * entry `expectedIndex`. Throws `CORRUPT` (naming `where`) on any defect. Record values are
 * views into `bytes` (no copy): callers hand out buffers they no longer reuse.
 */
export function decodeFrame(
  bytes: Uint8Array,
  position: number,
  size: number,
  expectedIndex: number,
  where: string,
): DecodedFrame {
  const fail = (why: string) =>
    new LogError("CORRUPT", `Cannot read entry ${expectedIndex} in ${where}: the frame ${why}`);
  const defect = frameDefect(bytes, position, size);
  if (defect !== null) throw fail(defect);
  const header = readFrameHeader(bytes, position)!;
  if (header.index !== expectedIndex) throw fail(`holds entry ${header.index}`);
  const payloadStart = position + FRAME_HEADER_BYTES;
  const end = position + size;
  const kind = header.kind as EntryKind;
  const records: Uint8Array[] = [];
  let data: Uint8Array = EMPTY;
  if (kind === EntryKind.Records) {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    let cursor = payloadStart;
    if ((bytes[position + 9]! & FLAG_RECORDS_DATA) !== 0) {
      if (cursor + RECORD_LENGTH_BYTES > end) throw fail("has batch data past its end");
      const length = view.getUint32(cursor, true);
      cursor += RECORD_LENGTH_BYTES;
      if (cursor + length > end) throw fail("has batch data past its end");
      data = bytes.subarray(cursor, cursor + length);
      cursor += length;
    }
    for (let i = 0; i < header.recordCount; i++) {
      if (cursor + RECORD_LENGTH_BYTES > end) throw fail("has a record past its end");
      const length = view.getUint32(cursor, true);
      cursor += RECORD_LENGTH_BYTES;
      if (cursor + length > end) throw fail("has a record past its end");
      records.push(bytes.subarray(cursor, cursor + length));
      cursor += length;
    }
    if (cursor !== end) throw fail("has bytes after its last record");
  } else {
    data = bytes.subarray(payloadStart, end);
  }
  const entry: Entry = {
    term: header.term,
    index: header.index,
    kind,
    baseOffset: header.baseOffset,
    records,
    data,
  };
  return { entry, timestampMs: header.timestampMs };
}

const EMPTY = new Uint8Array(0);

/** Writes an index entry into `target` at `position`. */
export function encodeIndexEntry(
  target: DataView,
  position: number,
  framePosition: number,
  baseOffset: number,
  term: number,
): void {
  setU64(target, position, framePosition);
  setU64(target, position + 8, baseOffset);
  setU64(target, position + 16, term);
}

/** One decoded index entry. */
export interface IndexEntry {
  readonly position: number;
  readonly baseOffset: number;
  readonly term: number;
}

/** Reads the index entry at byte `position` of `view`. */
export function decodeIndexEntry(view: DataView, position: number): IndexEntry {
  return {
    position: getU64(view, position),
    baseOffset: getU64(view, position + 8),
    term: getU64(view, position + 16),
  };
}
