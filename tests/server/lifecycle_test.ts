import { status } from "@grpc/grpc-js";
import { ServingStatus } from "../../proto/mod.ts";
import { assertEquals, encoder, eventually, rejection } from "./_assert.ts";
import { startHarness } from "./_harness.ts";

Deno.test("Health Check reports SERVING, NOT_SERVING after shutdown begins", async () => {
  await using h = await startHarness();
  assertEquals(await h.client.health(), ServingStatus.SERVING);
  assertEquals(await h.client.health("log.v1.Log"), ServingStatus.SERVING);
  const unknown = await rejection(h.client.health("nope"));
  assertEquals(unknown.code, status.NOT_FOUND);
  h.service.beginShutdown();
  assertEquals(await h.client.health(), ServingStatus.NOT_SERVING);
});

Deno.test("Health Watch sends the status, then each change", async () => {
  await using h = await startHarness();
  const { healthService } = await import("../../proto/mod.ts");
  const { credentials, makeGenericClientConstructor } = await import("@grpc/grpc-js");
  const Stub = makeGenericClientConstructor(healthService, "Health");
  const stub = new Stub(`127.0.0.1:${h.grpc.port}`, credentials.createInsecure());
  try {
    // deno-lint-ignore no-explicit-any
    const watch = (stub as any).watch({ service: "" });
    const seen: number[] = [];
    watch.on("data", (message: { status: number }) => seen.push(message.status));
    watch.on("error", () => {});
    await eventually(() => seen.length === 1, "the first status");
    h.service.beginShutdown();
    await eventually(() => seen.length === 2, "the change");
    assertEquals(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    watch.cancel();
  } finally {
    stub.close();
  }
});

Deno.test("Shutting down: new requests get UNAVAILABLE and tailing streams end", async () => {
  await using h = await startHarness();
  await h.client.produce(encoder.encode("a"));
  const tail = rejection((async () => {
    for await (const _ of h.client.consumeStream(0)) { /* tailing */ }
  })());
  await eventually(() => h.log.waiters.size === 1, "the stream to tail");
  h.service.beginShutdown();
  assertEquals((await tail).code, status.UNAVAILABLE);
  const late = await rejection(h.client.produce(encoder.encode("late")));
  assertEquals([late.code, late.details], [status.UNAVAILABLE, "The server is shutting down"]);
});

Deno.test("authorize: a denied action is PERMISSION_DENIED with the subject", async () => {
  const asked: string[] = [];
  await using h = await startHarness({
    authorize: (subject, action) => {
      asked.push(`${subject}:${action}`);
      return action === "consume";
    },
  });
  const denied = await rejection(h.client.produce(encoder.encode("a")));
  assertEquals(denied.code, status.PERMISSION_DENIED);
  assertEquals(denied.details, "Cannot produce: an anonymous client is not allowed to");
  assertEquals((await rejection(h.client.consume(0))).code, status.OUT_OF_RANGE);
  assertEquals(asked, [":produce", ":consume"]);
  const http = await fetch(`${h.httpUrl}/v1/records`, {
    method: "POST",
    body: JSON.stringify({ value: "YQ==" }),
  });
  assertEquals([http.status, (await http.json()).error.code], [403, "PERMISSION_DENIED"]);
});

Deno.test("GetServers reports this node as the leader at its RPC address", async () => {
  await using h = await startHarness();
  const servers = await h.client.getServers();
  assertEquals(servers, [{ id: "strand", rpcAddr: `127.0.0.1:${h.grpc.port}`, isLeader: true }]);
});

Deno.test("Health is NOT_SERVING until the owner says the node serves", async () => {
  const { Service, startGrpcServer } = await import("../../server/mod.ts");
  const { MemoryLog } = await import("./_memory_log.ts");
  const { LogClient } = await import("../../client/mod.ts");
  const service = new Service({ log: new MemoryLog() });
  const grpc = await startGrpcServer(service, { host: "127.0.0.1", port: 0 });
  const client = new LogClient(`127.0.0.1:${grpc.port}`);
  try {
    assertEquals(await client.health(), ServingStatus.NOT_SERVING);
    service.setServing();
    assertEquals(await client.health(), ServingStatus.SERVING);
  } finally {
    client.close();
    service.beginShutdown();
    await grpc.close(1000);
  }
});

Deno.test("Shutdown lets in-flight requests finish before the server closes", async () => {
  await using h = await startHarness();
  let release = () => {};
  h.log.gate = new Promise((resolve) => release = resolve);
  const inFlight = h.client.produce(encoder.encode("in flight"));
  await eventually(() => h.log.appendCalls === 1, "the append to start");
  h.service.beginShutdown();
  let closed = false;
  const closing = h.grpc.close(10_000).then(() => closed = true);
  const late = await rejection(h.client.consume(0));
  assertEquals(late.code, status.UNAVAILABLE, "new requests are refused meanwhile");
  assertEquals(closed, false, "the server waits for the in-flight call");
  release();
  assertEquals(await inFlight, 0, "the in-flight produce is acknowledged");
  await closing;
});
