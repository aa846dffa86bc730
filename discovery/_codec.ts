/**
 * Binary encoding of compound UDP packets and push/pull state. Sizes are computed without
 * encoding (`messageSizeBytes`) so the core can fill a packet up to its budget, and the
 * simulation can count gossip bytes without paying for encoding.
 *
 * Strings are length-prefixed by one byte (at most 255 UTF-8 bytes); integers are
 * big-endian u32. A packet is a sequence of messages, each starting with its type byte.
 * @module
 */

import { DiscoveryError } from "./_errors.ts";
import type { MemberState, MemberStatus, Message, Tags } from "./_types.ts";

const typeCodes = {
  ping: 1,
  pingReq: 2,
  ack: 3,
  nack: 4,
  alive: 5,
  suspect: 6,
  dead: 7,
} as const;
const statusCodes: Record<MemberStatus, number> = { alive: 1, suspect: 2, dead: 3, left: 4 };
const statusByCode: readonly (MemberStatus | undefined)[] = [
  undefined,
  "alive",
  "suspect",
  "dead",
  "left",
];

/**
 * Bytes the sealed envelope adds to a plaintext packet: version (1) + nonce (12) + GCM tag
 * (16). The core subtracts it from `packetBytesMax` so sealed packets stay within it.
 */
export const sealOverheadBytes: number = 1 + 12 + 16;

/** Most messages decoded from one packet; more means a malformed or hostile packet. */
export const packetMessagesMax = 512;
/** Most members in one push/pull payload. */
export const stateMembersMax = 65_535;
const stringBytesMax = 255;
const tagsCountMax = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 length of `text` without allocating. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function stringSize(text: string): number {
  return 1 + utf8Length(text);
}

/** Encoded size of a tag set. */
export function tagsSizeBytes(tags: Tags): number {
  let size = 1;
  for (const key in tags) size += stringSize(key) + stringSize(tags[key] ?? "");
  return size;
}

/** Encoded size of one message inside a compound packet. */
export function messageSizeBytes(message: Message): number {
  switch (message.type) {
    case "ping":
      return 5 + stringSize(message.target) + stringSize(message.source);
    case "pingReq":
      return 5 + stringSize(message.target) + stringSize(message.targetAddress);
    case "ack":
    case "nack":
      return 5;
    case "alive":
      return 5 + stringSize(message.name) + stringSize(message.address) +
        tagsSizeBytes(message.tags);
    case "suspect":
    case "dead":
      return 5 + stringSize(message.name) + stringSize(message.from);
  }
}

/** Checks the limits the wire format imposes on a name, address or tag. */
export function checkWireString(what: string, text: string): void {
  if (utf8Length(text) > stringBytesMax) {
    throw new DiscoveryError(
      "TOO_LARGE",
      `Cannot encode ${what} "${text.slice(0, 32)}…": it is longer than ${stringBytesMax} bytes`,
    );
  }
}

class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  position = 0;

  constructor(sizeBytes: number) {
    this.bytes = new Uint8Array(sizeBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    this.view.setUint8(this.position, value);
    this.position += 1;
  }

  u16(value: number): void {
    this.view.setUint16(this.position, value);
    this.position += 2;
  }

  u32(value: number): void {
    this.view.setUint32(this.position, value >>> 0);
    this.position += 4;
  }

  string(text: string): void {
    const encoded = encoder.encode(text);
    if (encoded.length > stringBytesMax) checkWireString("string", text);
    this.u8(encoded.length);
    this.bytes.set(encoded, this.position);
    this.position += encoded.length;
  }

  tags(tags: Tags): void {
    const keys = Object.keys(tags);
    if (keys.length > tagsCountMax) {
      throw new DiscoveryError("TOO_LARGE", `Cannot encode ${keys.length} tags: at most 64`);
    }
    this.u8(keys.length);
    for (const key of keys) {
      this.string(key);
      this.string(tags[key] ?? "");
    }
  }
}

class Reader {
  readonly view: DataView;
  position = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  #need(count: number, what: string): void {
    if (this.remaining < count) {
      throw new DiscoveryError(
        "MALFORMED_PACKET",
        `Cannot decode ${what}: ${this.remaining} bytes left, it needs ${count}`,
      );
    }
  }

  u8(): number {
    this.#need(1, "a byte");
    return this.view.getUint8(this.position++);
  }

  u16(): number {
    this.#need(2, "a u16");
    const value = this.view.getUint16(this.position);
    this.position += 2;
    return value;
  }

  u32(): number {
    this.#need(4, "a u32");
    const value = this.view.getUint32(this.position);
    this.position += 4;
    return value;
  }

  string(): string {
    const length = this.u8();
    this.#need(length, "a string");
    const start = this.position;
    this.position += length;
    try {
      return decoder.decode(this.bytes.subarray(start, this.position));
    } catch (error) {
      throw new DiscoveryError("MALFORMED_PACKET", "Cannot decode a string: invalid UTF-8", {
        cause: error,
      });
    }
  }

  tags(): Tags {
    const count = this.u8();
    if (count > tagsCountMax) {
      throw new DiscoveryError("MALFORMED_PACKET", `Cannot decode ${count} tags: at most 64`);
    }
    const tags: Record<string, string> = {};
    for (let i = 0; i < count; i++) {
      const key = this.string();
      tags[key] = this.string();
    }
    return tags;
  }
}

function writeMessage(writer: Writer, message: Message): void {
  writer.u8(typeCodes[message.type]);
  switch (message.type) {
    case "ping":
      writer.u32(message.seq);
      writer.string(message.target);
      writer.string(message.source);
      return;
    case "pingReq":
      writer.u32(message.seq);
      writer.string(message.target);
      writer.string(message.targetAddress);
      return;
    case "ack":
    case "nack":
      writer.u32(message.seq);
      return;
    case "alive":
      writer.string(message.name);
      writer.string(message.address);
      writer.u32(message.incarnation);
      writer.tags(message.tags);
      return;
    case "suspect":
    case "dead":
      writer.string(message.name);
      writer.u32(message.incarnation);
      writer.string(message.from);
      return;
  }
}

function readMessage(reader: Reader): Message {
  const code = reader.u8();
  switch (code) {
    case typeCodes.ping:
      return { type: "ping", seq: reader.u32(), target: reader.string(), source: reader.string() };
    case typeCodes.pingReq:
      return {
        type: "pingReq",
        seq: reader.u32(),
        target: reader.string(),
        targetAddress: reader.string(),
      };
    case typeCodes.ack:
      return { type: "ack", seq: reader.u32() };
    case typeCodes.nack:
      return { type: "nack", seq: reader.u32() };
    case typeCodes.alive:
      return {
        type: "alive",
        name: reader.string(),
        address: reader.string(),
        incarnation: reader.u32(),
        tags: reader.tags(),
      };
    case typeCodes.suspect:
    case typeCodes.dead:
      return {
        type: code === typeCodes.dead ? "dead" : "suspect",
        name: reader.string(),
        incarnation: reader.u32(),
        from: reader.string(),
      };
    default:
      throw new DiscoveryError("MALFORMED_PACKET", `Cannot decode message type ${code}`);
  }
}

/** Encodes a compound packet (plaintext; the keyring seals it). */
export function encodePacket(messages: readonly Message[]): Uint8Array {
  let size = 0;
  for (const message of messages) size += messageSizeBytes(message);
  const writer = new Writer(size);
  for (const message of messages) writeMessage(writer, message);
  return writer.bytes;
}

/** Decodes a compound packet; throws `DiscoveryError` (`MALFORMED_PACKET`) on bad input. */
export function decodePacket(bytes: Uint8Array): Message[] {
  const reader = new Reader(bytes);
  const messages: Message[] = [];
  while (reader.remaining > 0) {
    if (messages.length >= packetMessagesMax) {
      throw new DiscoveryError("MALFORMED_PACKET", `Cannot decode packet: over 512 messages`);
    }
    messages.push(readMessage(reader));
  }
  return messages;
}

/** A push/pull payload: the sender's full member list. */
export interface PushPullPayload {
  /** True when the sender is joining. */
  readonly join: boolean;
  /** The sender's view of every member it knows. */
  readonly states: readonly MemberState[];
}

function stateSize(state: MemberState): number {
  return stringSize(state.name) + stringSize(state.address) + 5 + tagsSizeBytes(state.tags);
}

/** The largest encoded member state: name and address of 255 bytes, the largest tags. */
export function stateBytesMax(tagsBytesMax: number): number {
  return 2 * (1 + stringBytesMax) + 5 + tagsBytesMax;
}

/**
 * The largest sealed push/pull frame a member may send: `membersMax` states of the largest
 * size. A stream declaring more is refused before any byte of it is buffered.
 */
export function pushPullBytesMax(limits: { membersMax: number; tagsBytesMax: number }): number {
  return 3 + limits.membersMax * stateBytesMax(limits.tagsBytesMax) + sealOverheadBytes;
}

/** Encodes a push/pull payload (plaintext). */
export function encodePushPull(payload: PushPullPayload): Uint8Array {
  if (payload.states.length > stateMembersMax) {
    throw new DiscoveryError("TOO_LARGE", `Cannot encode ${payload.states.length} members`);
  }
  let size = 3;
  for (const state of payload.states) size += stateSize(state);
  const writer = new Writer(size);
  writer.u8(payload.join ? 1 : 0);
  writer.u16(payload.states.length);
  for (const state of payload.states) {
    writer.string(state.name);
    writer.string(state.address);
    writer.u32(state.incarnation);
    writer.u8(statusCodes[state.status]);
    writer.tags(state.tags);
  }
  return writer.bytes;
}

/** Decodes a push/pull payload; throws `DiscoveryError` (`MALFORMED_PACKET`) on bad input. */
export function decodePushPull(bytes: Uint8Array): PushPullPayload {
  const reader = new Reader(bytes);
  const join = reader.u8() === 1;
  const count = reader.u16();
  const states: MemberState[] = [];
  for (let i = 0; i < count; i++) {
    const name = reader.string();
    const address = reader.string();
    const incarnation = reader.u32();
    const status = statusByCode[reader.u8()];
    if (status === undefined) {
      throw new DiscoveryError("MALFORMED_PACKET", `Cannot decode status of member ${name}`);
    }
    states.push({ name, address, incarnation, status, tags: reader.tags() });
  }
  if (reader.remaining !== 0) {
    throw new DiscoveryError(
      "MALFORMED_PACKET",
      `Cannot decode state: ${reader.remaining} extra bytes`,
    );
  }
  return { join, states };
}
