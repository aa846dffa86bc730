/**
 * gRPC offsets above 2^53: the uint64 as sent is quoted exactly in OUT_OF_RANGE (protobufjs,
 * with 64-bit fields as numbers, would round 2^64 - 1 to 18446744073709552000).
 */
import { Buffer } from "node:buffer";
import { Client, credentials, type ServiceError, status } from "@grpc/grpc-js";
import { exactVarintField } from "../../proto/mod.ts";
import { assertEquals, encoder } from "./_assert.ts";
import { startHarness } from "./_harness.ts";

/** A protobuf varint. */
function varint(value: bigint): number[] {
  const out: number[] = [];
  while (value >= 0x80n) {
    out.push(Number(value & 0x7fn) | 0x80);
    value >>= 7n;
  }
  return [...out, Number(value)];
}

/** A ConsumeRequest with `offset` (field 1), hand-encoded: the client codec rounds it too. */
const consumeRequest = (offset: bigint) => Buffer.from([0x08, ...varint(offset)]);

const identity = (value: Buffer) => value;

function callError(run: (done: (error: ServiceError | null) => void) => void) {
  return new Promise<ServiceError | null>((resolve) => run(resolve));
}

Deno.test("gRPC Consume and ConsumeStream quote an offset above 2^53 exactly", async () => {
  await using h = await startHarness();
  await h.log.append([encoder.encode("a"), encoder.encode("b")]);
  const client = new Client(`127.0.0.1:${h.grpc.port}`, credentials.createInsecure());
  try {
    for (const offset of [(1n << 64n) - 1n, (1n << 53n) + 1n]) {
      const expected = `Cannot read offset ${offset}: the log holds offsets 0 to 1`;
      const unary = await callError((done) =>
        client.makeUnaryRequest(
          "/log.v1.Log/Consume",
          identity,
          identity,
          consumeRequest(offset),
          (error) => done(error),
        )
      );
      assertEquals([unary?.code, unary?.details], [status.OUT_OF_RANGE, expected]);
      const stream = await callError((done) => {
        const call = client.makeServerStreamRequest(
          "/log.v1.Log/ConsumeStream",
          identity,
          identity,
          consumeRequest(offset),
        );
        call.on("data", () => {});
        call.on("error", (error: ServiceError) => done(error));
        call.on("end", () => done(null));
      });
      assertEquals([stream?.code, stream?.details], [status.OUT_OF_RANGE, expected]);
    }
  } finally {
    client.close();
  }
});

Deno.test("exactVarintField reads a uint64 field exactly among other fields", () => {
  const max = (1n << 64n) - 1n;
  const bytes = new Uint8Array([
    0x10,
    ...varint(7n), // field 2 varint
    0x1a,
    0x02,
    0x08,
    0x01, // field 3, length-delimited, holding bytes that look like field 1
    0x08,
    ...varint(max), // field 1
    0x25,
    1,
    2,
    3,
    4, // field 4, fixed32
  ]);
  assertEquals(String(exactVarintField(bytes, 1)), String(max));
  assertEquals(String(exactVarintField(bytes, 2)), "7");
  assertEquals(exactVarintField(new Uint8Array([0x10, 0x01]), 1), undefined);
  assertEquals(exactVarintField(new Uint8Array([0x08, 0xff]), 1), undefined, "truncated");
});
