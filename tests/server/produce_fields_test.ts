/**
 * The idempotent-produce and acknowledgement fields of ProduceRequest/ProduceResponse keep
 * their field numbers, and a book client's message (fields 1–2 only) decodes with defaults.
 */
import { encodeProduceResponse } from "../../proto/mod.ts";
import { log } from "../../proto/gen/log.js";
import { assertEquals, encoder, eventually, rejection } from "./_assert.ts";
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

Deno.test("the server hands a request's producer to the log and answers its duplicate with the original offsets", async () => {
  await using h = await startHarness();
  const raw = rawClient(h.grpc.port);
  try {
    const batch = {
      records: [{ value: encoder.encode("a") }, { value: encoder.encode("b") }],
      producerId: "p",
      sequence: 1,
    };
    const first = await raw.call("produce", batch) as Record<string, unknown>;
    await raw.call("produce", { record: { value: encoder.encode("x") } });
    const again = await raw.call("produce", batch) as Record<string, unknown>;
    assertEquals([Number(first.offset), first.count, first.duplicate], [0, 2, false]);
    assertEquals([Number(again.offset), again.count, again.duplicate], [0, 2, true]);
    assertEquals(h.log.producers, [{ id: "p", sequence: 1 }, undefined, {
      id: "p",
      sequence: 1,
    }]);
    const long = await rejection(
      raw.call("produce", { ...batch, producerId: "x".repeat(129) }),
    );
    assertEquals(long.code, 3); // INVALID_ARGUMENT: nothing reaches the log
    assertEquals(h.log.producers.length, 3);
    const response = await fetch(`${h.httpUrl}/v1/records`, {
      method: "POST",
      body: JSON.stringify({ value: btoa("h"), producerId: "p", sequence: 1 }),
    });
    const json = await response.json();
    assertEquals([json.offset, json.count, json.duplicate], [0, 2, true]);
    assertEquals(h.log.producers.at(-1), { id: "p", sequence: 1 });
  } finally {
    raw.close();
  }
});

Deno.test("ProduceStream appends a batch naming a producer on its own, never coalesced", async () => {
  await using h = await startHarness();
  const { promise: held, resolve: release } = Promise.withResolvers<void>();
  h.log.gate = held;
  const stream = h.client.produceStream();
  try {
    const one = (text: string) => [encoder.encode(text)];
    const answers = [
      stream.send(one("a")), // appending (held): the next ones queue
      stream.send(one("b")),
      stream.send(one("c"), { producerId: "p", sequence: 1 }),
      stream.send(one("d")),
      stream.send(one("e")),
    ];
    await eventually(() => h.log.appendCalls === 1, "the first append in flight");
    h.log.gate = null;
    release();
    await Promise.all(answers);
    assertEquals(h.log.appendSizes, [1, 1, 1, 2]);
    assertEquals(h.log.producers, [undefined, undefined, { id: "p", sequence: 1 }, undefined]);
  } finally {
    stream.end();
  }
});
