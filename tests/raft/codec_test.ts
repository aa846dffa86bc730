import { EntryKind } from "../../log/mod.ts";
import {
  CodecError,
  decodeBody,
  encodeFrame,
  FRAME_BYTES_MAX,
  FrameSplitter,
  type Message,
  MessageType,
} from "../../raft/mod.ts";
import { EntryEncodings } from "../../raft/_codec.ts";
import { crc32 } from "node:zlib";
import { assert, assertEquals } from "./_harness.ts";
import { firstAppend } from "./_fixture.ts";

const base = { from: "node-a", to: "node-b", term: 2 ** 40 + 3 };

/** One message of every type, with non-trivial field values. */
export const SAMPLES: Message[] = [
  { ...base, type: MessageType.PreVote, lastIndex: 7, lastTerm: 6, transfer: false },
  { ...base, type: MessageType.Vote, lastIndex: 2 ** 50, lastTerm: 1, transfer: true },
  { ...base, type: MessageType.PreVoteResponse, granted: true },
  { ...base, type: MessageType.VoteResponse, granted: false },
  {
    ...base,
    type: MessageType.Append,
    prevIndex: 10,
    prevTerm: 3,
    commit: 9,
    entries: [
      {
        term: 3,
        index: 11,
        kind: EntryKind.Records,
        baseOffset: 300,
        records: [new Uint8Array([1, 2, 3]), new Uint8Array(0)],
        data: new Uint8Array(0),
      },
      {
        term: 3,
        index: 12,
        kind: EntryKind.Config,
        baseOffset: 302,
        records: [],
        data: new TextEncoder().encode("{}"),
      },
    ],
  },
  {
    ...base,
    type: MessageType.AppendResponse,
    success: false,
    index: 10,
    conflictTerm: 2,
    conflictIndex: 4,
  },
  { ...base, type: MessageType.Heartbeat, commit: 12, readSeq: 5 },
  { ...base, type: MessageType.HeartbeatResponse, readSeq: 5 },
  {
    ...base,
    type: MessageType.InstallSnapshot,
    index: 100,
    snapshotTerm: 4,
    nextOffset: 5000,
    configIndex: 90,
    config: { voters: ["a", "b", "ü"], learners: ["d"] },
  },
  { ...base, type: MessageType.TimeoutNow },
  { ...base, type: MessageType.ReadIndex, readId: "r-1" },
  { ...base, type: MessageType.ReadIndexResponse, readId: "r-1", index: 77 },
];

function plain(message: Message): unknown {
  return JSON.parse(JSON.stringify(message, (_k, v) => v instanceof Uint8Array ? [...v] : v));
}

Deno.test("codec: every message type survives a round trip", () => {
  for (const message of SAMPLES) {
    const frame = encodeFrame(message);
    const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
    assertEquals(length, frame.length - 12, `length prefix of type ${message.type}`);
    assertEquals(plain(decodeBody(frame.subarray(12))), plain(message), `type ${message.type}`);
  }
});

Deno.test("codec: the splitter reassembles frames cut at every byte boundary", () => {
  const stream = new Uint8Array(SAMPLES.flatMap((m) => [...encodeFrame(m)]));
  for (const cut of [1, 2, 3, 5, 17, 64]) {
    const splitter = new FrameSplitter();
    const bodies: Uint8Array[] = [];
    for (let position = 0; position < stream.length; position += cut) {
      bodies.push(...splitter.push(stream.subarray(position, position + cut)));
    }
    assertEquals(bodies.map((b) => decodeBody(b).type), SAMPLES.map((m) => m.type), `cut ${cut}`);
  }
});

Deno.test("codec: truncated, trailing or unknown bytes raise CodecError", () => {
  const body = encodeFrame(SAMPLES[4] as Message).subarray(8);
  const broken = [
    body.subarray(0, body.length - 1),
    new Uint8Array([...body, 0]),
    new Uint8Array([9, ...body.subarray(1)]),
    new Uint8Array([1, 99, 0, 0, 0]),
  ];
  for (const bytes of broken) {
    let error: unknown = null;
    try {
      decodeBody(bytes);
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof CodecError, `expected CodecError, got ${error}`);
  }
});

/** A frame header announcing `length` body bytes, with a valid header checksum. */
function headerFor(length: number): Uint8Array {
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setUint32(0, length);
  view.setUint32(8, crc32(header.subarray(0, 8)));
  return header;
}

Deno.test("codec: an oversized length prefix is refused before buffering", () => {
  let error: unknown = null;
  try {
    new FrameSplitter().push(headerFor(0xffffffff));
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof CodecError && error.part === "header", `got ${error}`);
});

Deno.test("codec: a flipped bit in a frame header is refused before waiting for the body", () => {
  const frame = encodeFrame(SAMPLES[4] as Message);
  for (let bit = 0; bit < 12 * 8; bit++) {
    const header = frame.slice(0, 12);
    header[bit >> 3] = (header[bit >> 3] as number) ^ (1 << (bit & 7));
    let error: unknown = null;
    try {
      // Only the header has arrived: a receiver must not sit waiting for a damaged length.
      new FrameSplitter().push(header);
    } catch (caught) {
      error = caught;
    }
    assert(
      error instanceof CodecError && error.part === "header" && error.message.includes("header"),
      `bit ${bit}: ${error}`,
    );
  }
});

Deno.test("codec: a frame with any single flipped bit fails a checksum", () => {
  const frame = encodeFrame(SAMPLES[4] as Message);
  for (let bit = 0; bit < frame.length * 8; bit++) {
    const copy = frame.slice();
    copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
    let error: unknown = null;
    try {
      for (const body of new FrameSplitter().push(copy)) decodeBody(body);
    } catch (caught) {
      error = caught;
    }
    assert(
      error instanceof CodecError && error.message.includes("checksum"),
      `bit ${bit}: ${error}`,
    );
  }
});

Deno.test("codec: a message too large for one frame is refused at encoding", () => {
  const big = new Uint8Array(FRAME_BYTES_MAX + 1);
  const message = firstAppend([big]);
  let error: unknown = null;
  try {
    encodeFrame(message);
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof CodecError && error.message.includes("frame limit"), `got ${error}`);
});

Deno.test("codec: decoded records own their bytes (they never pin or alias the frame)", () => {
  const records = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([9, 8])];
  const message = firstAppend(records);
  const frame = encodeFrame(message);
  const body = new FrameSplitter().push(frame)[0] as Uint8Array;
  const decoded = decodeBody(body);
  assert(decoded.type === MessageType.Append, "an append");
  const got = decoded.entries[0]!.records;
  body.fill(0);
  assertEquals(got.map((record) => [...record]), [[1, 2, 3], [], [9, 8]]);
  for (const record of got) assert(record.buffer !== frame.buffer, "a record aliases the frame");
});

Deno.test("codec: an entry sent to several followers is encoded once, into the same bytes", () => {
  const append = SAMPLES.find((m) => m.type === MessageType.Append)!;
  const encodings = new EntryEncodings();
  for (const to of ["node-b", "node-c", "node-d"]) {
    const message = { ...append, to };
    const frame = encodeFrame(message, encodings);
    assertEquals([...frame], [...encodeFrame(message)], `frame to ${to}`);
    assertEquals(plain(decodeBody(frame.subarray(12))), plain(message), `decoded for ${to}`);
  }
  // Two entries, each encoded for the first follower and reused for the other two.
  assertEquals(encodings.hits, 4);
});

Deno.test("codec: records decode at every length, alignment and count", () => {
  for (const count of [1, 2, 3, 127, 128, 129, 500]) {
    const records = Array.from(
      { length: count },
      (_, i) => Uint8Array.from({ length: (i * 37) % 300 }, (_, j) => (i + j) & 0xff),
    );
    const message: Message = {
      ...base,
      type: MessageType.Append,
      prevIndex: 0,
      prevTerm: 0,
      commit: 0,
      entries: [{
        term: 1,
        index: 1,
        kind: EntryKind.Records,
        baseOffset: 0,
        records,
        data: new Uint8Array([7]),
      }],
    };
    const decoded = decodeBody(encodeFrame(message).subarray(12));
    assert(decoded.type === MessageType.Append, "an append");
    assertEquals(plain(decoded), plain(message), `${count} records`);
  }
});

Deno.test("codec: node ids of any characters and length encode as UTF-8 and round-trip", () => {
  const ids = [
    "",
    "n1",
    "\u0000\u007f",
    "\u0080",
    "n\u00e6ud-\u00ff",
    "\u{1f600}",
    "a".repeat(64),
    "a".repeat(65),
    "b".repeat(127),
    "c".repeat(128),
    "d".repeat(63) + "\u00e9",
    "e".repeat(300),
  ];
  const utf8 = new TextEncoder();
  for (const from of ids) {
    for (const to of ids) {
      const message: Message = { from, to, term: 5, type: MessageType.VoteResponse, granted: true };
      const frame = encodeFrame(message);
      // Body: version, type, then `from` as a varint length and its UTF-8 bytes.
      const bytes = utf8.encode(from);
      const prefix = bytes.length < 0x80
        ? [bytes.length]
        : [(bytes.length & 0x7f) | 0x80, bytes.length >> 7];
      assertEquals(
        [...frame.subarray(14, 14 + prefix.length + bytes.length)],
        [...prefix, ...bytes],
        `bytes of ${JSON.stringify(from)}`,
      );
      assertEquals(
        plain(decodeBody(frame.subarray(12))),
        plain(message),
        JSON.stringify([from, to]),
      );
    }
  }
});
