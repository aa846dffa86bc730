// Bytes that are no valid protobuf message get INVALID_ARGUMENT (not INTERNAL), counted.
import { credentials, makeGenericClientConstructor, type ServiceDefinition } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { assertEquals, eventually } from "./_assert.ts";
import { startHarness } from "./_harness.ts";

const identity = (value: Buffer) => value;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const RawLog = {
  produce: method("/log.v1.Log/Produce", false, false),
  consumeStream: method("/log.v1.Log/ConsumeStream", false, true),
  produceStream: method("/log.v1.Log/ProduceStream", true, true),
} as ServiceDefinition;

/** Field 31 with wire type 7: no protobuf decoder accepts it. */
const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff]);

Deno.test("malformed protobuf requests get INVALID_ARGUMENT, are counted, and the server goes on", async () => {
  await using harness = await startHarness();
  const Stub = makeGenericClientConstructor(RawLog, "Log");
  // deno-lint-ignore no-explicit-any
  const stub = new Stub(`127.0.0.1:${harness.grpc.port}`, credentials.createInsecure()) as any;
  try {
    const unary = await new Promise<{ code: number; details: string }>((resolve) =>
      stub.produce(garbage, (error: { code: number; details: string }) => resolve(error))
    );
    assertEquals(unary.code, 3, `unary: ${unary.details}`);
    assertEquals(unary.details.includes("not a valid protobuf message"), true);

    const streamed = await new Promise<number>((resolve) => {
      const call = stub.consumeStream(garbage);
      call.on("data", () => {});
      call.on("error", (error: { code: number }) => resolve(error.code));
    });
    assertEquals(streamed, 3, "server streaming");

    const bidi = await new Promise<number>((resolve) => {
      const call = stub.produceStream();
      call.on("data", () => {});
      call.on("error", (error: { code: number }) => resolve(error.code));
      call.write(garbage);
    });
    assertEquals(bidi, 3, "bidirectional streaming");
    await eventually(() => harness.service.context.malformedRequests === 3, "three counted");
    assertEquals(harness.log.appendCalls, 0, "nothing appended");
    assertEquals(await harness.client.produce(new Uint8Array([1])), 0, "valid requests go on");
  } finally {
    stub.close();
  }
});
