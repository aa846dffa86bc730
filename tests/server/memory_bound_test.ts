// What the server buffers for a client is bounded by the server's own constants, whatever
// window the client grants: a client that grants 2^31−1 bytes (SETTINGS + connection
// WINDOW_UPDATE) and stops reading its socket made the server queue the whole log before.
import {
  clientBacklogBytesMax,
  pipelineProduce,
  rawWriteBytes,
  streamReadBytesMax,
} from "../../server/_grpc_stream.ts";
import { type SocketBacklog, tapSession } from "../../server/_h2_send_window.ts";
import { ServiceContext } from "../../server/_context.ts";
import { Service, startGrpcServer } from "../../server/mod.ts";
import { assert, assertEquals, eventually } from "./_assert.ts";
import { startHarness } from "./_harness.ts";
import { MemoryLog } from "./_memory_log.ts";
import { openStalledConsumer, RawH2Client } from "./_raw_h2.ts";
import {
  createCertificateAuthority,
  grpcServerCredentials,
  issueNodeCertificate,
} from "../../security/mod.ts";
import { EventEmitter } from "node:events";

const recordBytes = 1000;
const recordCount = 30_000; // 30 MB: far more than the bound plus the kernel's buffers

async function fill(log: MemoryLog, count: number): Promise<void> {
  const value = new Uint8Array(recordBytes).fill(7);
  for (let i = 0; i < count; i += 100) await log.append(Array.from({ length: 100 }, () => value));
}

/** Log bytes a connection may hold beyond what the kernel took: the bound, and one step. */
const perStreamStepBytes = streamReadBytesMax + rawWriteBytes + recordBytes;

async function stalledConsumerIsBounded(streams: number, tls: boolean): Promise<void> {
  const ca = await createCertificateAuthority();
  const node = await issueNodeCertificate(ca, {
    commonName: "node-1",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const credentials = grpcServerCredentials({ certPem: node.certPem, keyPem: node.keyPem });
  await using harness = await startHarness({}, tls ? { credentials } : {});
  await fill(harness.log, recordCount);
  const context = harness.service.context;
  const conn = await openStalledConsumer({
    port: harness.grpc.port,
    hugeWindow: true,
    streams,
    ...(tls ? { caCerts: [ca.certPem] } : {}),
  });
  try {
    await eventually(
      () => context.streamsWaitingForClient === streams,
      `all ${streams} streams to pause (the metric shows them)`,
    );
    const { unflushed, flushed } = harness.grpc.socketBytes();
    const boundBytes = clientBacklogBytesMax + streams * perStreamStepBytes;
    if (!tls) {
      assert(unflushed <= boundBytes, `socket holds ${unflushed} bytes, bound ${boundBytes}`);
    }
    // Everything read from the log is on the wire (flushed) or within the bound.
    const heldBytes = harness.log.recordsRead * recordBytes - flushed;
    assert(
      heldBytes <= boundBytes,
      `server holds ${heldBytes} bytes of records, bound ${boundBytes}`,
    );
    assert(harness.log.recordsRead < recordCount, "the stream did not read the whole log");
  } finally {
    conn.close();
  }
  await eventually(() => context.streamsWaitingForClient === 0, "the waits to end with the client");
}

Deno.test("a client granting a 2^31−1 window that stops reading: one stream pauses at the bound", async () => {
  await stalledConsumerIsBounded(1, false);
});

Deno.test("the same bound holds for four streams on one connection", async () => {
  await stalledConsumerIsBounded(4, false);
});

Deno.test("the same bound holds under TLS (the TLS layer's queue counted from its records)", async () => {
  await stalledConsumerIsBounded(1, true);
});

Deno.test("a paused stream goes on when its client reads again", async () => {
  await using harness = await startHarness();
  await fill(harness.log, 10_000);
  const client = await RawH2Client.connect({ port: harness.grpc.port });
  try {
    client.grantHugeWindow();
    client.stopReading();
    const stream = client.consumeStream(0, `127.0.0.1:${harness.grpc.port}`);
    const context = harness.service.context;
    await eventually(() => context.streamsWaitingForClient === 1, "the stream to pause");
    client.resumeReading();
    await eventually(() => client.messages(stream) === 10_000, "every record to arrive");
    await eventually(() => context.streamsWaitingForClient === 0, "the stream to stop waiting");
  } finally {
    await client.close();
  }
});

Deno.test("a connection may open at most concurrentStreamsMax streams; more are refused", async () => {
  const log = new MemoryLog(1024);
  const service = new Service({ log });
  const grpc = await startGrpcServer(service, {
    host: "127.0.0.1",
    port: 0,
    concurrentStreamsMax: 10,
  });
  service.setServing();
  const client = await RawH2Client.connect({ port: grpc.port });
  try {
    // Tailing an empty log: every admitted stream stays open.
    for (let i = 0; i < 30; i++) client.consumeStream(0, `127.0.0.1:${grpc.port}`, 1 + 2 * i);
    await eventually(() => client.resets.size === 20, "20 streams to be refused");
    assert([...client.resets.values()].every((code) => code === 7), "as REFUSED_STREAM");
  } finally {
    await client.close();
    service.beginShutdown();
    log.waiters.close();
    await grpc.close(1000);
  }
});

// ProduceStream answers: the same socket bound pauses a client that sends but never reads.

class FakeProduceCall extends EventEmitter {
  paused = false;
  answeredBytes = 0;
  readonly socket = new EventEmitter();
  readonly session = Object.assign(new EventEmitter(), { socket: this.socket });
  readonly call: unknown;
  constructor() {
    super();
    const stream = Object.assign(new EventEmitter(), {
      id: 1,
      session: this.session,
      destroyed: false,
      closed: false,
      write: (chunk: Uint8Array) => {
        this.answeredBytes += chunk.length;
        return true;
      },
    });
    this.call = { stream, maybeSendMetadata() {}, checkCancelled: () => false };
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  isPaused() {
    return this.paused;
  }
}

Deno.test("ProduceStream pauses at the socket bound whatever window the client grants", async () => {
  const log = new MemoryLog(1024);
  const context = new ServiceContext({ log }, () => []);
  const call = new FakeProduceCall();
  const windows = tapSession(call.session);
  call.socket.emit("data", new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  const credit = new Uint8Array(13);
  new DataView(credit.buffer).setUint32(0, 4 << 8);
  credit[3] = 0x8; // WINDOW_UPDATE, connection: a window far beyond anything sent here
  new DataView(credit.buffer).setUint32(9, 0x7fff_0000);
  call.socket.emit("data", credit);
  let taken = 0; // bytes "the kernel took": none until the client reads
  const listeners = new Set<() => void>();
  const backlog: SocketBacklog = {
    bytes: () => call.answeredBytes - taken,
    onFlush: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  windows.attachSocket(backlog);
  // deno-lint-ignore no-explicit-any
  pipelineProduce(context, call as any, () => {});
  new DataView(credit.buffer).setUint32(5, 1); // the same window for the (now tracked) stream
  call.socket.emit("data", credit);
  const request = { record: { value: new Uint8Array([1]) }, records: [] };
  // Send while the server reads; wait for the answers in flight. Only the socket bound
  // can keep the input paused once everything sent is answered.
  let sent = 0;
  let answered = 0;
  const countAnswers = call.call as { stream: { write(chunk: Uint8Array): boolean } };
  const write = countAnswers.stream.write;
  countAnswers.stream.write = (chunk) => {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let at = 0; at < chunk.length; at += 5 + view.getUint32(at + 1)) answered++;
    return write(chunk);
  };
  while (sent < 1_000_000 && context.streamsWaitingForClient === 0) {
    while (!call.paused) {
      call.emit("data", request);
      sent++;
    }
    await eventually(() => answered === sent || !call.paused, "the in-flight answers");
  }
  await eventually(() => context.streamsWaitingForClient === 1, "the stream to pause, counted");
  assert(call.paused, "the input is paused");
  const held = backlog.bytes();
  assert(held > clientBacklogBytesMax, `held ${held}`);
  assert(held < clientBacklogBytesMax + 64 * 1024, `and not much beyond the bound: ${held}`);
  taken = call.answeredBytes; // the client reads everything
  for (const listener of listeners) listener();
  await eventually(() => context.streamsWaitingForClient === 0, "the stream to stop waiting");
  assertEquals(windows.socketBacklog(), 0);
});
