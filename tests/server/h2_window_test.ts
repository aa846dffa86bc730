// ConsumeStream against a real HTTP/2 connection whose client grants no credit: the server must
// stop reading the log once the client's window is used up (plus a bounded backlog), and go on
// when the client grants credit. On Deno 2.8.3 this rests on our own account of the windows
// (server/_h2_send_window.ts): the runtime completes writes without waiting for the window.
import {
  rawWriteBytes,
  streamReadBytesMax,
  windowOverrunBytesMax,
} from "../../server/_grpc_stream.ts";
import { SessionSendWindows } from "../../server/_h2_send_window.ts";
import { assert, assertEquals, eventually } from "./_assert.ts";
import { type Harness, startHarness } from "./_harness.ts";
import { RawH2Client, type RawH2Options } from "./_raw_h2.ts";
import {
  createCertificateAuthority,
  grpcServerCredentials,
  issueNodeCertificate,
} from "../../security/mod.ts";

const recordBytes = 1000; // the harness's MemoryLog takes records up to 1 KiB
const recordCount = 20_000; // 20 MB: far more than the window plus the backlog bound

async function stallThenResume(harness: Harness, connect: RawH2Options): Promise<void> {
  const value = new Uint8Array(recordBytes).fill(7);
  for (let i = 0; i < recordCount; i += 100) {
    await harness.log.append(Array.from({ length: 100 }, () => value));
  }
  const context = harness.service.context;
  const client = await RawH2Client.connect(connect);
  try {
    const stream = client.consumeStream(0, `localhost:${harness.grpc.port}`);
    await eventually(
      () => context.streamsWaitingForClient === 1,
      "the stream to wait for the client",
    );
    // Written at most: the default window (64 KiB), then `windowOverrunBytesMax` and one write
    // queued in the runtime's HTTP/2 session (which keeps them if the connection dies), and
    // read, one step more. Not the socket bound (1 MiB): nothing beyond the window is sent.
    const boundBytes = 65_535 + windowOverrunBytesMax + rawWriteBytes + streamReadBytesMax +
      recordBytes;
    const readBytes = harness.log.recordsRead * recordBytes;
    assert(readBytes <= boundBytes, `read ${readBytes} bytes of the log, bound ${boundBytes}`);
    assert((client.received.get(stream) ?? 0) <= 65_535, "no DATA beyond the window");

    const credit = 0x7fff_ffff - 65_535;
    client.grant(stream, credit);
    client.grant(0, credit);
    await eventually(
      () => client.messages(stream) === recordCount,
      "every record to arrive once the client grants credit",
    );
    await eventually(() => context.streamsWaitingForClient === 0, "the stream to stop waiting");
  } finally {
    await client.close();
  }
}

Deno.test("ConsumeStream stops at a client that grants no credit, and resumes when it does", async () => {
  await using harness = await startHarness();
  await stallThenResume(harness, { port: harness.grpc.port });
});

Deno.test("the same over TLS: the account reads the decrypted frames", async () => {
  const ca = await createCertificateAuthority();
  const node = await issueNodeCertificate(ca, {
    commonName: "node-1",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const credentials = grpcServerCredentials({ certPem: node.certPem, keyPem: node.keyPem });
  await using harness = await startHarness({}, { credentials });
  await stallThenResume(harness, { port: harness.grpc.port, caCerts: [ca.certPem] });
});

Deno.test("a stream that waits for credit ends when its client goes away", async () => {
  await using harness = await startHarness();
  const value = new Uint8Array(recordBytes);
  for (let i = 0; i < 4000; i += 100) {
    await harness.log.append(Array.from({ length: 100 }, () => value));
  }
  const context = harness.service.context;
  const client = await RawH2Client.connect({ port: harness.grpc.port });
  client.consumeStream(0, `127.0.0.1:${harness.grpc.port}`);
  await eventually(() => context.streamsWaitingForClient === 1, "the stream to wait");
  await client.close();
  await eventually(() => context.streamsWaitingForClient === 0, "the wait to end with the client");
  await eventually(
    () => harness.events.some((event) => event.method === "ConsumeStream"),
    "the stream to finish",
  );
});

Deno.test("a stream waiting for its client lets go of the records it has not written", async () => {
  // A read step's values are views into the log's read-ahead buffers (1 MiB each in the file
  // log): a stream that kept its step while waiting would pin them for as long as its client
  // stalls. It must read the unwritten rest again when it goes on.
  await using harness = await startHarness();
  const count = 4000;
  const value = new Uint8Array(recordBytes).fill(3);
  for (let i = 0; i < count; i += 100) {
    await harness.log.append(Array.from({ length: 100 }, () => value));
  }
  const reads: { offset: number; records: number }[] = [];
  const readFrom = harness.log.readFrom.bind(harness.log);
  harness.log.readFrom = (offset, bytesMax) => {
    const records = readFrom(offset, bytesMax);
    reads.push({ offset, records: records.length });
    return records;
  };
  const context = harness.service.context;
  const client = await RawH2Client.connect({ port: harness.grpc.port });
  try {
    const stream = client.consumeStream(0, `127.0.0.1:${harness.grpc.port}`);
    await eventually(() => context.streamsWaitingForClient === 1, "the stream to wait");
    const readBeforeWait = reads.length;
    const readEnd = Math.max(...reads.map((read) => read.offset + read.records));
    client.grant(stream, 0x7fff_ffff - 65_535);
    client.grant(0, 0x7fff_ffff - 65_535);
    await eventually(() => client.messages(stream) === count, "every record once");
    const resumedAt = reads[readBeforeWait]?.offset ?? Infinity;
    assert(
      resumedAt < readEnd,
      `went on reading at ${resumedAt}, after the ${readEnd} records it held while waiting`,
    );
    await eventually(() => context.streamsWaitingForClient === 0, "the stream to stop waiting");
    assertEquals(client.messages(stream), count, "no record twice");
  } finally {
    await client.close();
  }
});

// The account itself, fed byte streams cut at every position.

const prefaceBytes = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frameBytes(type: number, flags: number, stream: number, payload: number[]): number[] {
  const length = payload.length;
  return [
    length >> 16,
    (length >> 8) & 0xff,
    length & 0xff,
    type,
    flags,
    (stream >>> 24) & 0x7f,
    (stream >> 16) & 0xff,
    (stream >> 8) & 0xff,
    stream & 0xff,
    ...payload,
  ];
}

const u32 = (n: number) => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

function clientBytes(): Uint8Array {
  return new Uint8Array([
    ...prefaceBytes,
    // SETTINGS: header table size 4096, initial window 1000.
    ...frameBytes(0x4, 0, 0, [0, 1, ...u32(4096), 0, 4, ...u32(1000)]),
    ...frameBytes(0x1, 0x4, 1, [1, 2, 3]), // HEADERS, skipped
    ...frameBytes(0x0, 0x1, 1, new Array(300).fill(9)), // DATA, skipped
    ...frameBytes(0x4, 0x1, 0, []), // SETTINGS ACK
    ...frameBytes(0x8, 0, 1, u32(500)), // stream 1 credit
    ...frameBytes(0x8, 0, 3, u32(7)), // an untracked stream
    ...frameBytes(0x8, 0, 0, u32(100_000)), // connection credit
    ...frameBytes(0x6, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]), // PING, skipped
  ]);
}

Deno.test("the window account reads SETTINGS and WINDOW_UPDATE however the bytes are cut", () => {
  const bytes = clientBytes();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const windows = new SessionSendWindows();
    const stream = windows.track(1);
    stream.wrote(2000);
    windows.feed(bytes.subarray(0, cut));
    windows.feed(bytes.subarray(cut));
    assert(windows.active, `account active at cut ${cut}`);
    // 2000 written − (initial 1000 + credit 500)
    assertEquals(stream.backlog(), 500, `backlog at cut ${cut}`);
  }
});

Deno.test("the connection window bounds the backlog too", () => {
  const windows = new SessionSendWindows();
  const a = windows.track(1);
  const b = windows.track(3);
  windows.feed(prefaceBytes);
  windows.feed(new Uint8Array(frameBytes(0x8, 0, 1, u32(1_000_000))));
  windows.feed(new Uint8Array(frameBytes(0x8, 0, 3, u32(1_000_000))));
  a.wrote(50_000);
  b.wrote(50_000);
  // Streams have credit; the connection (65,535 by default) does not.
  assertEquals(a.backlog(), 100_000 - 65_535);
  windows.feed(new Uint8Array(frameBytes(0x8, 0, 0, u32(40_000))));
  assertEquals(a.backlog(), 0);
});

Deno.test("a waiter wakes on the credit that brings the backlog low enough", async () => {
  const windows = new SessionSendWindows();
  windows.feed(prefaceBytes);
  windows.feed(new Uint8Array(frameBytes(0x8, 0, 0, u32(1_000_000)))); // connection credit
  const stream = windows.track(1);
  stream.wrote(65_535 + 10_000);
  let woke = false;
  const waiting = stream.waitWithin(
    { windowBytes: 1_000, socketBytes: 1_000 },
    new AbortController().signal,
  ).then(() => woke = true);
  windows.feed(new Uint8Array(frameBytes(0x8, 0, 1, u32(5_000))));
  await Promise.resolve();
  assertEquals(woke, false, "still 5,000 over");
  windows.feed(new Uint8Array(frameBytes(0x8, 0, 1, u32(4_500))));
  await waiting;
  assertEquals(stream.backlog(), 500);
});

Deno.test("bytes that are not HTTP/2 give up the account instead of guessing", async () => {
  const windows = new SessionSendWindows();
  const stream = windows.track(1);
  stream.wrote(1_000_000);
  const waiting = stream.waitWithin(
    { windowBytes: 0, socketBytes: 0 },
    new AbortController().signal,
  );
  windows.feed(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  await waiting; // woken by giving up
  assertEquals(windows.active, false);
  assertEquals(stream.backlog(), 0, "no account: grpc-js's write()/'drain' alone");
});
