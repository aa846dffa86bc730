import { status } from "@grpc/grpc-js";
import { assert, assertEquals, decoder, encoder, eventually, rejection } from "./_assert.ts";
import { rawClient, startHarness } from "./_harness.ts";

const text = (value: Uint8Array) => decoder.decode(value);

Deno.test("Produce and Consume: offsets 0,1,2 and the values back", async () => {
  await using h = await startHarness();
  const offsets = [];
  for (const word of ["a", "b", "c"]) offsets.push(await h.client.produce(encoder.encode(word)));
  assertEquals(offsets, [0, 1, 2]);
  const record = await h.client.consume(1);
  assertEquals([text(record.value), record.offset, record.term], ["b", 1, 0]);
  assert(h.events.some((e) => e.method === "Produce" && e.status === "OK"), "observer saw it");
});

Deno.test("Produce with records appends a batch and answers its base offset", async () => {
  await using h = await startHarness();
  await h.client.produce(encoder.encode("first"));
  const batch = await h.client.produceBatch(["x", "y", "z"].map((v) => encoder.encode(v)));
  assertEquals(batch, { offset: 1, count: 3 });
  assertEquals(text((await h.client.consume(3)).value), "z");
  assertEquals(h.log.appends, 2, "the batch is one append");
});

Deno.test("Consume outside the log is OUT_OF_RANGE naming the offset and range", async () => {
  await using h = await startHarness();
  const empty = await rejection(h.client.consume(0));
  assertEquals(empty.code, status.OUT_OF_RANGE);
  for (const v of ["a", "b", "c", "d"]) await h.client.produce(encoder.encode(v));
  const past = await rejection(h.client.consume(4));
  assertEquals(past.details, "Cannot read offset 4: the log holds offsets 0 to 3");
  h.log.first = 2; // retention removed offsets 0 and 1
  const before = await rejection(h.client.consume(1));
  assertEquals([before.code, before.details], [
    status.OUT_OF_RANGE,
    "Cannot read offset 1: the log holds offsets 2 to 3",
  ]);
});

Deno.test("Produce without a record, or with both forms, is INVALID_ARGUMENT", async () => {
  await using h = await startHarness();
  const none = await rejection(h.client.produceBatch([]));
  assertEquals(none.code, status.INVALID_ARGUMENT);
  assert(String(none.details).includes("no record"), String(none.details));
  const raw = rawClient(h.grpc.port);
  try {
    const both = await rejection(raw.call("produce", {
      record: { value: encoder.encode("a") },
      records: [{ value: encoder.encode("b") }],
    }));
    assertEquals(both.code, status.INVALID_ARGUMENT);
  } finally {
    raw.close();
  }
  assertEquals(h.log.nextOffset(), 0);
});

Deno.test("A record over the limit is RESOURCE_EXHAUSTED and the server keeps serving", async () => {
  await using h = await startHarness();
  const big = await rejection(h.client.produce(new Uint8Array(4096)));
  assertEquals(big.code, status.RESOURCE_EXHAUSTED);
  assertEquals(await h.client.produce(encoder.encode("fine")), 0);
});

Deno.test("ProduceStream reads ahead while appending and coalesces what it read", async () => {
  await using h = await startHarness();
  let release = () => {};
  h.log.gate = new Promise((resolve) => release = resolve);
  const stream = h.client.produceStream();
  const answers = Array.from({ length: 50 }, (_, i) => stream.send([encoder.encode(`${i}`)]));
  const batch = stream.send([encoder.encode("b0"), encoder.encode("b1")]);
  await eventually(() => h.log.appendCalls === 1, "the first append to hold");
  await h.client.health(); // a round trip later, the other requests have arrived
  release();
  h.log.gate = null;
  const offsets = (await Promise.all(answers)).map((r) => Number(r.offset));
  assertEquals(offsets, Array.from({ length: 50 }, (_, i) => i));
  assertEquals(await batch, { offset: 50, count: 2 });
  // What arrived while the first append was held went to the log together (how much arrived
  // by then depends on the client's sending, hence no exact split).
  assertEquals(h.log.appendSizes.reduce((a, b) => a + b), 52);
  assert(h.log.appendSizes.length < 51, `appends: ${h.log.appendSizes.join(",")}`);
  stream.end();
  await eventually(() => h.events.some((e) => e.method === "ProduceStream"), "stream end");
  assertEquals(h.events.find((e) => e.method === "ProduceStream")?.status, "OK");
});

Deno.test("ProduceStream ends with INVALID_ARGUMENT on a request without a record", async () => {
  await using h = await startHarness();
  const stream = h.client.produceStream();
  assertEquals(Number((await stream.send([encoder.encode("ok")])).offset), 0);
  const failure = await rejection(stream.send([]));
  assertEquals(failure.code, status.INVALID_ARGUMENT);
});

Deno.test("ConsumeStream replays, then tails records appended later", async () => {
  await using h = await startHarness();
  for (const v of ["a", "b", "c"]) await h.client.produce(encoder.encode(v));
  const seen: string[] = [];
  const reader = (async () => {
    for await (const record of h.client.consumeStream(1, { limit: 4 })) {
      assertEquals(record.offset, seen.length + 1);
      seen.push(text(record.value));
    }
  })();
  await eventually(() => seen.length === 2 && h.log.waiters.size === 1, "replay, then a wait");
  await h.client.produce(encoder.encode("d"));
  await h.client.produce(encoder.encode("e"));
  await reader; // limit 4 ends the stream
  assertEquals(seen, ["b", "c", "d", "e"]);
});

Deno.test("ConsumeStream batches records when asked", async () => {
  await using h = await startHarness();
  await h.client.produceBatch(Array.from({ length: 10 }, (_, i) => encoder.encode(`${i}`)));
  const offsets: number[] = [];
  for await (const r of h.client.consumeStream(0, { limit: 10, batchRecordsMax: 4 })) {
    offsets.push(r.offset);
  }
  assertEquals(offsets, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("ConsumeStream from before the start is OUT_OF_RANGE", async () => {
  await using h = await startHarness();
  for (const v of ["a", "b", "c"]) await h.client.produce(encoder.encode(v));
  h.log.first = 2;
  const failure = await rejection((async () => {
    for await (const _ of h.client.consumeStream(0)) throw new Error("no record expected");
  })());
  assertEquals(failure.code, status.OUT_OF_RANGE);
});

Deno.test("ConsumeStream ends cleanly when the client cancels while tailing", async () => {
  await using h = await startHarness();
  await h.client.produce(encoder.encode("only"));
  for await (const record of h.client.consumeStream(0)) {
    assertEquals(record.offset, 0);
    break; // cancels the call
  }
  await eventually(
    () => h.events.some((e) => e.method === "ConsumeStream" && e.status === "CANCELLED"),
    "the server to see the cancel",
  );
  await eventually(() => h.log.waiters.size === 0, "the waiter to be released");
});

Deno.test("ProduceStream answers 1100 pipelined requests in order across a held append", async () => {
  await using h = await startHarness();
  let release = () => {};
  h.log.gate = new Promise((resolve) => release = resolve);
  const stream = h.client.produceStream();
  const answers = Array.from({ length: 1100 }, (_, i) => stream.send([encoder.encode(`${i}`)]));
  await eventually(() => h.log.appendCalls === 1, "the first append to hold");
  await h.client.health(); // a round trip later, the server has read what it will read
  release();
  h.log.gate = null;
  const offsets = (await Promise.all(answers)).map((r) => Number(r.offset));
  assertEquals(offsets, Array.from({ length: 1100 }, (_, i) => i));
  assertEquals(h.log.appendSizes.reduce((a, b) => a + b), 1100);
  stream.end();
});

Deno.test("ConsumeStream with stopAtEnd ends at the end of the log as it was", async () => {
  await using h = await startHarness();
  await h.client.produceBatch(["a", "b", "c"].map((v) => encoder.encode(v)));
  const seen: number[] = [];
  for await (const r of h.client.consumeStream(1, { stopAtEnd: true })) seen.push(r.offset);
  assertEquals(seen, [1, 2]);
  const none: number[] = [];
  for await (const r of h.client.consumeStream(7, { stopAtEnd: true })) none.push(r.offset);
  assertEquals(none, [], "past the end: nothing, no wait");
  assertEquals(h.log.waiters.size, 0);
});

Deno.test("A record failing its checksum is DATA_LOSS, and other records still read", async () => {
  await using h = await startHarness();
  await h.client.produceBatch(["a", "b"].map((v) => encoder.encode(v)));
  const read = h.log.read.bind(h.log);
  h.log.read = (offset) => {
    if (offset === 0) {
      throw Object.assign(new Error("Cannot read offset 0: checksum mismatch"), {
        code: "CORRUPT",
      });
    }
    return read(offset);
  };
  const failure = await rejection(h.client.consume(0));
  assertEquals([failure.code, failure.details], [
    status.DATA_LOSS,
    "Cannot read offset 0: checksum mismatch",
  ]);
  assertEquals(text((await h.client.consume(1)).value), "b");
});

Deno.test("ProduceStream appends nothing read after a failed request", async () => {
  await using h = await startHarness();
  let release = () => {};
  h.log.gate = new Promise((resolve) => release = resolve);
  const stream = h.client.produceStream();
  const first = stream.send([encoder.encode("ok")]);
  await eventually(() => h.log.appendCalls === 1, "the first append to hold");
  const bad = stream.send([]); // a request without a record
  const after = stream.send([encoder.encode("after")]);
  await h.client.health(); // a round trip later, the server has read both
  release();
  h.log.gate = null;
  assertEquals(Number((await first).offset), 0);
  assertEquals((await rejection(bad)).code, status.INVALID_ARGUMENT);
  await rejection(after);
  assertEquals(h.log.nextOffset(), 1, "the request after the failure was not appended");
});
