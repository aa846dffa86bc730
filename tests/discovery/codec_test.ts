import {
  decodePacket,
  decodePushPull,
  encodePacket,
  encodePushPull,
  type Message,
  messageSizeBytes,
} from "../../discovery/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const samples: Message[] = [
  { type: "ping", seq: 1, target: "node-1", source: "node-0" },
  { type: "pingReq", seq: 0xffff_ffff, target: "node-2", targetAddress: "10.0.0.2:7946" },
  { type: "ack", seq: 42 },
  { type: "nack", seq: 43 },
  {
    type: "alive",
    name: "nœud-é",
    address: "[::1]:7946",
    incarnation: 7,
    tags: { rpc: "x:1", "": "" },
  },
  { type: "suspect", name: "node-3", incarnation: 2, from: "node-0" },
  { type: "dead", name: "node-4", incarnation: 9, from: "node-4" },
];

Deno.test("codec: every message type round-trips in one compound packet", () => {
  const bytes = encodePacket(samples);
  assertEquals(decodePacket(bytes), samples);
});

Deno.test("codec: computed sizes equal encoded sizes (the core budgets packets by them)", () => {
  for (const message of samples) {
    assertEquals(encodePacket([message]).length, messageSizeBytes(message), message.type);
  }
});

Deno.test("codec: truncated, unknown and overlong input is rejected as malformed", () => {
  const bytes = encodePacket(samples);
  assertThrows(() => decodePacket(bytes.subarray(0, bytes.length - 1)), "MALFORMED_PACKET");
  assertThrows(() => decodePacket(new Uint8Array([99])), "MALFORMED_PACKET");
  assertThrows(() => decodePacket(new Uint8Array(3000).fill(3)), "MALFORMED_PACKET");
  // A string claiming 3 bytes of invalid UTF-8.
  assertThrows(
    () => decodePacket(new Uint8Array([1, 0, 0, 0, 1, 3, 0xff, 0xfe, 0xfd, 0])),
    "MALFORMED_PACKET",
  );
});

Deno.test("codec: names longer than 255 bytes cannot be encoded", () => {
  const name = "x".repeat(256);
  assertThrows(
    () => encodePacket([{ type: "ping", seq: 1, target: name, source: "a" }]),
    "TOO_LARGE",
  );
});

Deno.test("codec: push/pull state round-trips and rejects trailing bytes", () => {
  const payload = {
    join: true,
    states: [
      {
        name: "a",
        address: "127.0.0.1:1",
        incarnation: 3,
        status: "alive" as const,
        tags: { k: "v" },
      },
      { name: "b", address: "127.0.0.1:2", incarnation: 0, status: "left" as const, tags: {} },
      { name: "c", address: "127.0.0.1:3", incarnation: 5, status: "dead" as const, tags: {} },
      { name: "d", address: "127.0.0.1:4", incarnation: 1, status: "suspect" as const, tags: {} },
    ],
  };
  const bytes = encodePushPull(payload);
  assertEquals(decodePushPull(bytes), payload);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assertThrows(() => decodePushPull(longer), "MALFORMED_PACKET");
  const badStatus = bytes.slice();
  badStatus[3 + 2 + 12 + 4] = 9; // status byte of the first member
  assertThrows(() => decodePushPull(badStatus), "MALFORMED_PACKET");
  assert(decodePushPull(encodePushPull({ join: false, states: [] })).states.length === 0, "empty");
});
