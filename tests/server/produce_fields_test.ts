/**
 * The idempotent-produce and acknowledgement fields of ProduceRequest/ProduceResponse keep
 * their field numbers, and a book client's message (fields 1–2 only) decodes with defaults.
 */
import { encodeProduceResponse } from "../../proto/mod.ts";
import { log } from "../../proto/gen/log.js";
import { silentLogger } from "../../server/mod.ts";
import { assert, assertEquals, encoder } from "./_assert.ts";
import { rawClient, startHarness } from "./_harness.ts";

Deno.test("ProduceRequest carries producer_id (3) and sequence (4)", () => {
  const bytes = log.v1.ProduceRequest.encode({ producerId: "p-1", sequence: 7 }).finish();
  // Field 3, wire type 2: tag 0x1a; field 4, varint: tag 0x20.
  assertEquals([...bytes], [0x1a, 3, 0x70, 0x2d, 0x31, 0x20, 7]);
  const decoded = log.v1.ProduceRequest.decode(bytes);
  assertEquals([decoded.producerId, Number(decoded.sequence)], ["p-1", 7]);
});

Deno.test("ProduceResponse carries replicas_fsynced, commit_index, duplicate, durable", () => {
  const bytes = encodeProduceResponse({
    offset: 1,
    count: 2,
    replicasFsynced: 3,
    commitIndex: 4,
    duplicate: true,
    durable: true,
  });
  assertEquals([...bytes], [0x08, 1, 0x10, 2, 0x18, 3, 0x20, 4, 0x28, 1, 0x30, 1]);
  const old = log.v1.ProduceResponse.decode(encodeProduceResponse({ offset: 5, count: 1 }));
  assertEquals(
    [Number(old.offset), old.count, old.replicasFsynced, Number(old.commitIndex)],
    [5, 1, 0, 0],
  );
  assertEquals([old.duplicate, old.durable], [false, false]);
});

Deno.test("a produce naming a producer is appended and warned about once (no dedup yet)", async () => {
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
  await using h = await startHarness({ logger });
  const raw = rawClient(h.grpc.port);
  try {
    const request = { record: { value: encoder.encode("a") }, producerId: "p", sequence: 1 };
    const first = await raw.call("produce", request) as { offset: number; duplicate: boolean };
    const second = await raw.call("produce", request) as { offset: number; duplicate: boolean };
    assertEquals([Number(first.offset), Number(second.offset)], [0, 1]);
    assertEquals([first.duplicate, second.duplicate], [false, false]);
    assertEquals(warnings.length, 1);
    assert(warnings[0]!.includes("does not deduplicate"), warnings[0]);
    await raw.call("produce", { record: { value: encoder.encode("b") } });
    assertEquals(warnings.length, 1);
  } finally {
    raw.close();
  }
});
