/**
 * The peer wire format: a compact hand-written binary encoding of {@linkcode Message}.
 *
 * A frame is `u32 length (big-endian) | u32 crc32(body) | u32 crc32(the 8 bytes before) | body`;
 * a body is `u8 version | u8 type | from | to | term | fields of the type`. The checksums
 * catch what TCP's 16-bit sum lets through (and bugs in middleboxes): a frame whose checksum
 * does not match is treated like a broken connection. The header has its own checksum,
 * checked before waiting for the body: a damaged length would otherwise make the receiver
 * wait for bytes that never come while the sender's writes still succeed. It is CRC-32 (zlib's, native and vectorised: ~50 GiB/s here)
 * rather than the log's CRC32C, whose JavaScript form (~350 MiB/s) made checksumming most of
 * the cost of a large append frame. Integers are unsigned LEB128 varints (exact up to 2^53), strings
 * and byte arrays are a varint length followed by the bytes. Decoding checks every bound
 * and throws {@linkcode CodecError}; a peer that sends garbage loses its connection, never
 * crashes the node.
 * @module
 */

import { crc32 } from "node:zlib";
import type { Entry, EntryKind } from "../log/mod.ts";
import { type Membership, type Message, MessageType } from "./_messages.ts";

/**
 * Version 2 added the checksum, version 3 made it CRC-32, version 4 added the header
 * checksum; frames of other versions fail a checksum or the version check and are dropped.
 */
const VERSION = 4;
/** Largest frame body accepted (bounds memory per connection). */
export const FRAME_BYTES_MAX = 64 << 20;
/** Bytes before the body: length, body checksum and header checksum. */
export const FRAME_HEADER_BYTES = 12;
/**
 * Bytes a frame adds around the payload of an AppendEntries message (envelope, varints,
 * entry headers), as a bound for configuration checks: payload + this <= FRAME_BYTES_MAX.
 * Entries cost at most ~40 bytes of headers each plus a varint per record; 1 MiB covers any
 * batch the log accepts (records of at least one byte, at most 64 MiB per frame).
 */
export const FRAME_OVERHEAD_BYTES = 1 << 20;

/** A malformed frame or message; `part` says whether the frame header or its body was bad. */
export class CodecError extends Error {
  readonly part: "header" | "body";
  constructor(message: string, part: "header" | "body" = "body") {
    super(message);
    this.name = "CodecError";
    this.part = part;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

class Writer {
  #bytes: Uint8Array;
  #length = 0;

  /** `capacity`: the expected size, so that a large frame is written without regrowing. */
  constructor(capacity = 256) {
    this.#bytes = new Uint8Array(capacity);
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.#length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = value;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new CodecError(`Cannot encode ${value}: not a non-negative safe integer`);
    }
    this.#reserve(8);
    let rest = value;
    while (rest >= 0x80) {
      this.#bytes[this.#length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.#bytes[this.#length++] = rest;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.byteLength);
    this.#reserve(value.byteLength);
    this.#bytes.set(value, this.#length);
    this.#length += value.byteLength;
  }

  /**
   * Node ids travel in every frame: an ASCII string is written byte by byte, without a
   * TextEncoder call and its allocation (~10 µs per frame on a follower's acknowledgements).
   */
  string(value: string): void {
    const length = value.length;
    if (length < 0x80) {
      this.#reserve(1 + length);
      const start = this.#length + 1;
      let ascii = true;
      for (let i = 0; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) {
          ascii = false;
          break;
        }
        this.#bytes[start + i] = code;
      }
      if (ascii) {
        this.#bytes[this.#length] = length;
        this.#length = start + length;
        return;
      }
    }
    this.bytes(encoder.encode(value));
  }

  /** Bytes already encoded (no length prefix). */
  raw(value: Uint8Array): void {
    this.#reserve(value.byteLength);
    this.#bytes.set(value, this.#length);
    this.#length += value.byteLength;
  }

  /** What was written so far (a view, for one-off encodings such as an entry's). */
  written(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** The frame: length prefix + body checksum + header checksum + body. */
  frame(): Uint8Array {
    const body = this.#length - FRAME_HEADER_BYTES;
    if (body > FRAME_BYTES_MAX) {
      throw new CodecError(
        `Cannot encode message: its ${body} bytes exceed the frame limit of ${FRAME_BYTES_MAX}`,
      );
    }
    const view = new DataView(this.#bytes.buffer);
    view.setUint32(0, body);
    view.setUint32(4, crc32(this.#bytes.subarray(FRAME_HEADER_BYTES, this.#length)));
    view.setUint32(8, crc32(this.#bytes.subarray(0, 8)));
    return this.#bytes.subarray(0, this.#length);
  }
}

class Reader {
  readonly #bytes: Uint8Array;
  #position = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  #need(count: number): void {
    if (this.#position + count > this.#bytes.length) {
      throw new CodecError(
        `Cannot decode message: needs ${count} bytes at ${this.#position}, body has ${this.#bytes.length}`,
      );
    }
  }

  byte(): number {
    this.#need(1);
    return this.#bytes[this.#position++] as number;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new CodecError(`Cannot decode message: varint longer than 8 bytes at ${this.#position}`);
  }

  bytes(): Uint8Array {
    return this.view().slice();
  }

  /** Like {@linkcode bytes}, a view into the body instead of a copy. */
  view(): Uint8Array {
    const length = this.varint();
    this.#need(length);
    const value = this.#bytes.subarray(this.#position, this.#position + length);
    this.#position += length;
    return value;
  }

  /**
   * A list of byte arrays copied in one allocation: the items share one copy of their span
   * (a copy per record made decoding a 500-record append ~7× slower), and none keeps the
   * whole frame or read buffer alive. The first pass only reads lengths, so each item costs
   * one view (of the copy), not two.
   */
  byteList(): Uint8Array[] {
    const count = this.varint();
    if (count > FRAME_BYTES_MAX) throw new CodecError(`Cannot decode message: ${count} items`);
    if (count === 0) return [];
    const starts: number[] = new Array(count);
    const lengths: number[] = new Array(count);
    let first = -1;
    for (let i = 0; i < count; i++) {
      const length = this.varint();
      this.#need(length);
      if (first < 0) first = this.#position;
      starts[i] = this.#position - first;
      lengths[i] = length;
      this.#position += length;
    }
    const copy = this.#bytes.slice(first, this.#position);
    const items: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      items[i] = new Uint8Array(copy.buffer, starts[i] as number, lengths[i] as number);
    }
    return items;
  }

  /** ASCII (every byte below 0x80, which is its own UTF-8) is decoded without TextDecoder. */
  string(): string {
    const view = this.view();
    if (view.length <= 64) {
      let text = "";
      for (let i = 0; i < view.length; i++) {
        const byte = view[i] as number;
        if (byte >= 0x80) return decoder.decode(view);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return decoder.decode(view);
  }

  done(): void {
    if (this.#position !== this.#bytes.length) {
      throw new CodecError(
        `Cannot decode message: ${this.#bytes.length - this.#position} trailing bytes`,
      );
    }
  }
}

/** Encodes a message as one frame (length, checksum, body); throws CodecError if it cannot. */
export function encodeFrame(message: Message, entries?: EntryEncodings): Uint8Array {
  const w = new Writer(sizeHint(message));
  for (let i = 0; i < FRAME_HEADER_BYTES; i++) w.byte(0);
  w.byte(VERSION);
  w.byte(message.type);
  w.string(message.from);
  w.string(message.to);
  w.varint(message.term);
  writeFields(w, message, entries);
  return w.frame();
}

/**
 * Bytes a frame of `message` takes at most, give or take its strings (an AppendEntries of
 * 500 records would otherwise regrow its buffer, copying it, about nine times).
 */
function sizeHint(message: Message): number {
  let bytes = 256;
  if (message.type !== MessageType.Append) return bytes;
  for (const entry of message.entries) bytes += entryBytesMax(entry);
  return bytes;
}

/** Bytes the encoding of `entry` takes at most. */
function entryBytesMax(entry: Entry): number {
  let bytes = 48 + entry.data.byteLength + 8 * entry.records.length;
  for (const record of entry.records) bytes += record.byteLength;
  return bytes;
}

/**
 * Encoded entries, reused across the frames that carry them: a leader sends every entry to
 * each follower, and re-encoding it per follower (a varint and a copy per record, ~100 µs
 * for 500 records) was the largest cost of replicating a batch after the log's checksum.
 * An encoding lives as long as its entry object (weakly held), so it is bounded by what
 * Raft keeps in memory (the recent window and the unstable suffix). Entries are immutable
 * values: an entry object always encodes to the same bytes.
 */
export class EntryEncodings {
  readonly #encoded = new WeakMap<Entry, Uint8Array>();
  /** Encodings reused rather than computed (for tests and metrics). */
  hits = 0;

  /** The encoding of `entry`, computed on first use. */
  get(entry: Entry): Uint8Array {
    const cached = this.#encoded.get(entry);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    const w = new Writer(entryBytesMax(entry));
    writeEntry(w, entry);
    const encoded = w.written();
    this.#encoded.set(entry, encoded);
    return encoded;
  }
}

function writeFields(w: Writer, m: Message, encodings?: EntryEncodings): void {
  switch (m.type) {
    case MessageType.PreVote:
    case MessageType.Vote:
      w.varint(m.lastIndex);
      w.varint(m.lastTerm);
      return w.byte(m.transfer ? 1 : 0);
    case MessageType.PreVoteResponse:
    case MessageType.VoteResponse:
      return w.byte(m.granted ? 1 : 0);
    case MessageType.Append:
      w.varint(m.prevIndex);
      w.varint(m.prevTerm);
      w.varint(m.commit);
      w.varint(m.entries.length);
      for (const entry of m.entries) {
        if (encodings === undefined) writeEntry(w, entry);
        else w.raw(encodings.get(entry));
      }
      return;
    case MessageType.AppendResponse:
      w.byte(m.success ? 1 : 0);
      w.varint(m.index);
      w.varint(m.conflictTerm);
      return w.varint(m.conflictIndex);
    case MessageType.Heartbeat:
      w.varint(m.commit);
      return w.varint(m.readSeq);
    case MessageType.HeartbeatResponse:
      return w.varint(m.readSeq);
    case MessageType.InstallSnapshot:
      w.varint(m.index);
      w.varint(m.snapshotTerm);
      w.varint(m.nextOffset);
      w.varint(m.configIndex);
      return writeMembership(w, m.config);
    case MessageType.TimeoutNow:
      return;
    case MessageType.ReadIndex:
      return w.string(m.readId);
    case MessageType.ReadIndexResponse:
      w.string(m.readId);
      return w.varint(m.index);
  }
}

function writeEntry(w: Writer, entry: Entry): void {
  w.varint(entry.term);
  w.varint(entry.index);
  w.byte(entry.kind);
  w.varint(entry.baseOffset);
  w.varint(entry.records.length);
  for (const record of entry.records) w.bytes(record);
  w.bytes(entry.data);
}

function writeMembership(w: Writer, membership: Membership): void {
  w.varint(membership.voters.length);
  for (const id of membership.voters) w.string(id);
  w.varint(membership.learners.length);
  for (const id of membership.learners) w.string(id);
}

/** Decodes a frame body (the bytes after the length and checksum; the splitter checked it). */
export function decodeBody(body: Uint8Array): Message {
  const r = new Reader(body);
  const version = r.byte();
  if (version !== VERSION) throw new CodecError(`Cannot decode message: version ${version}`);
  const type = r.byte();
  const envelope = { from: r.string(), to: r.string(), term: r.varint() };
  const message = readFields(r, type, envelope);
  r.done();
  return message;
}

/** Decodes one whole frame (length, checksum, body), as a receiver would. */
export function decodeFrame(frame: Uint8Array): Message {
  const bodies = new FrameSplitter().push(frame);
  if (bodies.length !== 1) throw new CodecError(`Cannot decode frame: ${bodies.length} bodies`);
  return decodeBody(bodies[0] as Uint8Array);
}

type Envelope = { from: string; to: string; term: number };

function readFields(r: Reader, type: number, e: Envelope): Message {
  switch (type) {
    case MessageType.PreVote:
    case MessageType.Vote:
      return { ...e, type, lastIndex: r.varint(), lastTerm: r.varint(), transfer: r.byte() === 1 };
    case MessageType.PreVoteResponse:
    case MessageType.VoteResponse:
      return { ...e, type, granted: r.byte() === 1 };
    case MessageType.Append: {
      const prevIndex = r.varint();
      const prevTerm = r.varint();
      const commit = r.varint();
      const entries = readList(r, () => readEntry(r));
      return { ...e, type, prevIndex, prevTerm, commit, entries };
    }
    case MessageType.AppendResponse:
      return {
        ...e,
        type,
        success: r.byte() === 1,
        index: r.varint(),
        conflictTerm: r.varint(),
        conflictIndex: r.varint(),
      };
    case MessageType.Heartbeat:
      return { ...e, type, commit: r.varint(), readSeq: r.varint() };
    case MessageType.HeartbeatResponse:
      return { ...e, type, readSeq: r.varint() };
    case MessageType.InstallSnapshot:
      return {
        ...e,
        type,
        index: r.varint(),
        snapshotTerm: r.varint(),
        nextOffset: r.varint(),
        configIndex: r.varint(),
        config: readMembership(r),
      };
    case MessageType.TimeoutNow:
      return { ...e, type };
    case MessageType.ReadIndex:
      return { ...e, type, readId: r.string() };
    case MessageType.ReadIndexResponse:
      return { ...e, type, readId: r.string(), index: r.varint() };
    default:
      throw new CodecError(`Cannot decode message: unknown type ${type}`);
  }
}

function readList<T>(r: Reader, item: () => T): T[] {
  const count = r.varint();
  if (count > FRAME_BYTES_MAX) throw new CodecError(`Cannot decode message: ${count} items`);
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(item());
  return items;
}

function readEntry(r: Reader): Entry {
  const term = r.varint();
  const index = r.varint();
  const kind = r.byte();
  if (kind < 1 || kind > 3) throw new CodecError(`Cannot decode entry ${index}: kind ${kind}`);
  const baseOffset = r.varint();
  const records = r.byteList();
  return { term, index, kind: kind as EntryKind, baseOffset, records, data: r.bytes() };
}

function readMembership(r: Reader): Membership {
  return { voters: readList(r, () => r.string()), learners: readList(r, () => r.string()) };
}

/**
 * Splits a byte stream into frame bodies. Feed it chunks as they arrive; it returns the
 * complete bodies and keeps the remainder (chunks are copied only when a frame spans them).
 */
export class FrameSplitter {
  #chunks: Uint8Array[] = [];
  #total = 0;
  #expected: number | null = null;
  #expectedCrc = 0;

  /** Appends `chunk` and returns every complete frame body; throws CodecError on a bad one. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#total += chunk.length;
    }
    const bodies: Uint8Array[] = [];
    for (;;) {
      if (this.#expected === null) {
        if (this.#total < FRAME_HEADER_BYTES) break;
        const header = this.#take(FRAME_HEADER_BYTES);
        const view = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES);
        if (crc32(header.subarray(0, 8)) !== view.getUint32(8)) {
          throw new CodecError("Cannot read frame: header checksum mismatch", "header");
        }
        const length = view.getUint32(0);
        if (length > FRAME_BYTES_MAX) {
          throw new CodecError(
            `Cannot read frame: ${length} bytes exceeds ${FRAME_BYTES_MAX}`,
            "header",
          );
        }
        this.#expected = length;
        this.#expectedCrc = view.getUint32(4);
      }
      if (this.#total < this.#expected) break;
      const body = this.#take(this.#expected);
      if (crc32(body) !== this.#expectedCrc) {
        throw new CodecError(`Cannot read frame: checksum mismatch over ${body.length} bytes`);
      }
      bodies.push(body);
      this.#expected = null;
    }
    return bodies;
  }

  #take(count: number): Uint8Array {
    this.#total -= count;
    const first = this.#chunks[0] as Uint8Array;
    if (first.length >= count) {
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[0] as Uint8Array;
      const part = Math.min(chunk.length, count - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
