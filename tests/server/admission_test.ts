import { status } from "@grpc/grpc-js";
import { assert, assertEquals, encoder, eventually, rejection } from "./_assert.ts";
import { startHarness } from "./_harness.ts";

/** Bounds a wait, so a missing refusal fails the test instead of hanging it. */
async function within<T>(promise: Promise<T>, what: string, deadlineMs = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer in ${deadlineMs} ms`)),
      deadlineMs,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("appends past the in-flight byte bound get UNAVAILABLE / 503, then flow again", async () => {
  await using h = await startHarness({ appendBytesInFlightMax: 100 });
  let release = () => {};
  h.log.gate = new Promise((resolve) => release = resolve);
  const held = h.client.produce(new Uint8Array(60));
  await eventually(() => h.log.appendCalls === 1, "the first append to be held by the log");

  const refused = await within(rejection(h.client.produce(new Uint8Array(60))), "gRPC refusal");
  assertEquals(refused.code, status.UNAVAILABLE);
  assert(
    String(refused.details).includes("60 bytes of appends are waiting"),
    String(refused.details),
  );

  const response = await within(
    fetch(`${h.httpUrl}/v1/records`, {
      method: "POST",
      body: JSON.stringify({ value: btoa("x".repeat(60)) }),
    }),
    "HTTP refusal",
  );
  assertEquals(response.status, 503);
  assertEquals((await response.json()).error.code, "OVERLOADED");
  assertEquals(h.log.appendCalls, 1, "refused appends must not reach the log");

  release();
  h.log.gate = null;
  assertEquals(await held, 0);
  assertEquals(await h.client.produce(encoder.encode("after")), 1);
});

Deno.test("one append larger than the bound is admitted when nothing else is in flight", async () => {
  await using h = await startHarness({ appendBytesInFlightMax: 10 });
  assertEquals(await h.client.produce(new Uint8Array(500)), 0);
  assertEquals(await h.client.produce(new Uint8Array(500)), 1);
});
