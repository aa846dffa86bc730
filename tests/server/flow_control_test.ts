// White-box tests of the ConsumeStream loop against a fake call, because the flow-control
// contract is grpc-js's: write() returns false when the stream is full, 'drain' says when to go
// on. (Deno 2.8.3's node:http2 completes writes before the peer's window opens, fixed upstream
// by denoland/deno#36044; h2_window_test.ts checks the stall through a real socket, where our
// own account of the client's HTTP/2 window stops the stream.)
import { EventEmitter } from "node:events";
import { ServiceContext } from "../../server/_context.ts";
import { pipelineProduce, streamRecords } from "../../server/_grpc_stream.ts";
import { assert, assertEquals, eventually } from "./_assert.ts";
import { MemoryLog } from "./_memory_log.ts";
import { FakeDuplex } from "./_fake_calls.ts";

class FakeCall extends EventEmitter {
  readonly written: unknown[] = [];
  full = false;
  constructor(readonly request: { offset: number; limit: number; batchRecordsMax: number }) {
    super();
  }
  write(message: unknown): boolean {
    this.written.push(message);
    return !this.full;
  }
}

async function filledLog(count: number): Promise<MemoryLog> {
  const log = new MemoryLog(1024);
  await log.append(Array.from({ length: count }, (_, i) => new Uint8Array([i % 256])));
  return log;
}

Deno.test("ConsumeStream stops reading the log while the stream is full, until 'drain'", async () => {
  const log = await filledLog(1000);
  const context = new ServiceContext({ log }, () => []);
  const call = new FakeCall({ offset: 0, limit: 1000, batchRecordsMax: 0 });
  call.full = true; // the very first write fills the stream
  const stop = new AbortController();
  // deno-lint-ignore no-explicit-any
  const done = streamRecords(context, call as any, stop.signal);
  await eventually(() => call.listenerCount("drain") === 1, "the loop to wait for drain");
  assertEquals(call.written.length, 1, "nothing more is written while full");
  const readWhileFull = log.recordsRead;
  assert(readWhileFull <= 1000, "one bounded read step at most");
  call.full = false;
  call.emit("drain");
  await done;
  assertEquals(call.written.length, 1000);
});

Deno.test("ConsumeStream ends its wait for 'drain' when the client goes away", async () => {
  const log = await filledLog(10);
  const context = new ServiceContext({ log }, () => []);
  const call = new FakeCall({ offset: 0, limit: 0, batchRecordsMax: 0 });
  call.full = true;
  const stop = new AbortController();
  // deno-lint-ignore no-explicit-any
  const done = streamRecords(context, call as any, stop.signal);
  await eventually(() => call.listenerCount("drain") === 1, "the loop to wait for drain");
  stop.abort(); // what a cancel does
  await done;
  assertEquals(call.written.length, 1);
  assertEquals(call.listenerCount("drain"), 0, "listeners removed");
  assertEquals(log.waiters.size, 0, "no waiter left behind");
});

Deno.test("ConsumeStream reads the log in bounded steps", async () => {
  const log = new MemoryLog(1024);
  const value = new Uint8Array(1000);
  for (let i = 0; i < 4; i++) await log.append(Array.from({ length: 500 }, () => value));
  const context = new ServiceContext({ log }, () => []);
  const call = new FakeCall({ offset: 0, limit: 2000, batchRecordsMax: 0 });
  call.full = true;
  const stop = new AbortController();
  // deno-lint-ignore no-explicit-any
  const done = streamRecords(context, call as any, stop.signal);
  await eventually(() => call.listenerCount("drain") === 1, "the loop to wait for drain");
  assert(log.recordsRead <= 300, `one step reads at most ~256 KiB, read ${log.recordsRead}`);
  stop.abort();
  await done;
});

Deno.test("ProduceStream stops reading at 1024 requests in flight, resumes once answered", async () => {
  const log = new MemoryLog(1024);
  let release = () => {};
  log.gate = new Promise((resolve) => release = resolve);
  const context = new ServiceContext({ log }, () => []);
  const call = new FakeDuplex();
  let outcome: unknown = "running";
  // deno-lint-ignore no-explicit-any
  pipelineProduce(context, call as any, (error) => outcome = error);
  const request = { record: { value: new Uint8Array([1]) }, records: [] };
  for (let i = 0; i < 1023; i++) call.emit("data", request);
  assertEquals(call.paused, false, "1023 in flight: still reading");
  call.emit("data", request);
  assertEquals([call.paused, call.pauses], [true, 1], "the 1024th pauses the input");
  release();
  log.gate = null;
  await eventually(() => call.written.length === 1024, "every answer");
  assertEquals(call.paused, false, "resumed");
  assertEquals(call.written.map((r) => r.offset), Array.from({ length: 1024 }, (_, i) => i));
  assertEquals(log.appendSizes, [1, 1023], "what was read while the first append held");
  call.emit("end");
  await eventually(() => call.ended, "the stream to end");
  assertEquals(outcome, null);
});
