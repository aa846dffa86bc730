/** The frame assembler that buffers unauthenticated push/pull streams. */

import { frame, FrameAssembler } from "../../discovery/_stream.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

Deno.test("frames: memory follows the bytes received, even one byte at a time", () => {
  const body = Uint8Array.from({ length: 100_000 }, (_, i) => i & 255);
  const bytes = frame(body);
  const assembler = new FrameAssembler(1_000_000);
  let result: Uint8Array | null = null;
  for (let i = 0; i < bytes.length; i++) {
    result = assembler.push(bytes.subarray(i, i + 1));
    assert(
      assembler.capacityBytes <= Math.max(256, 2 * assembler.receivedBytes),
      `${assembler.capacityBytes} bytes held for ${assembler.receivedBytes} received`,
    );
    if (i < bytes.length - 1) assertEquals(result, null);
  }
  assertEquals(result?.length, body.length);
  assert(result?.every((byte, i) => byte === (i & 255)) ?? false, "the body round-trips");
});

Deno.test("frames: a declared length over the bound or bytes past the end are refused", () => {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 1_001);
  assertThrows(() => new FrameAssembler(1_000).push(header), "TOO_LARGE");
  const tooLong = new Uint8Array([...frame(new Uint8Array(3)), 9]);
  assertThrows(() => new FrameAssembler(1_000).push(tooLong), "MALFORMED_PACKET");
  const split = new FrameAssembler(1_000);
  split.push(tooLong.subarray(0, 5));
  assertThrows(() => split.push(tooLong.subarray(5)), "MALFORMED_PACKET");
});
