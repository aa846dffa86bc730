// ConsumeStream against a real HTTP/2 connection whose client grants no credit: the server must
// stop reading the log once the client's window is used up (plus a bounded backlog), and go on
// when the client grants credit. On Deno 2.8.3 this rests on our own account of the windows
// (server/_h2_send_window.ts): the runtime completes writes without waiting for the window.
import {
  rawWriteBytes,
  streamReadBytesMax,
  unreadBytesMax,
  windowOverrunBytesMax,
} from "../../server/_grpc_stream.ts";
import { pingEveryBytes, SessionSendWindows } from "../../server/_h2_send_window.ts";
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

// Read receipts: with a 2^31−1 window the windows bound nothing and the kernel takes ~4 MiB
// per connection; an acknowledged PING is what shows the server its client read.

async function tlsHarness(): Promise<{ harness: Harness; caCerts: string[] }> {
  const ca = await createCertificateAuthority();
  const node = await issueNodeCertificate(ca, {
    commonName: "node-1",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const credentials = grpcServerCredentials({ certPem: node.certPem, keyPem: node.keyPem });
  return { harness: await startHarness({}, { credentials }), caCerts: [ca.certPem] };
}

async function fillLog(harness: Harness, count: number): Promise<void> {
  const value = new Uint8Array(recordBytes).fill(5);
  for (let i = 0; i < count; i += 100) {
    await harness.log.append(Array.from({ length: 100 }, () => value));
  }
}

/** Log bytes a stream may read beyond what its client read: the limit, one write, one step. */
const unreadBoundBytes = unreadBytesMax + rawWriteBytes + streamReadBytesMax + recordBytes;

async function stopsReadingWithHugeWindow(
  harness: Harness,
  connect: RawH2Options,
  thenReads: boolean,
): Promise<void> {
  await fillLog(harness, recordCount);
  const context = harness.service.context;
  const client = await RawH2Client.connect(connect);
  try {
    client.grantHugeWindow();
    client.stopReading();
    const stream = client.consumeStream(0, `localhost:${harness.grpc.port}`);
    await eventually(() => context.streamsWaitingForClient === 1, "the stream to wait");
    const readBytes = harness.log.recordsRead * recordBytes;
    const boundBytes = client.receivedTotal + unreadBoundBytes;
    assert(
      readBytes <= boundBytes,
      `wrote ${readBytes} bytes to a client that read ${client.receivedTotal}, bound ${boundBytes}`,
    );
    if (!thenReads) return;
    client.resumeReading();
    await eventually(
      () => client.messages(stream) === recordCount,
      "every record once the client reads and acknowledges",
    );
    await eventually(() => context.streamsWaitingForClient === 0, "the stream to stop waiting");
    assert(client.pings.length >= recordCount * recordBytes / pingEveryBytes / 2, "PINGs sent");
  } finally {
    await client.close();
  }
}

Deno.test("a 2^31−1 window and a client that stops reading: the stream waits at the unread bound", async () => {
  await using harness = await startHarness();
  await stopsReadingWithHugeWindow(harness, { port: harness.grpc.port }, true);
});

Deno.test("the same under TLS (PINGs go through the TLS session)", async () => {
  const { harness, caCerts } = await tlsHarness();
  await using _ = harness;
  // Not resumed: the test client's paused TLS socket does not read again on Deno 2.8.3.
  await stopsReadingWithHugeWindow(harness, { port: harness.grpc.port, caCerts }, false);
});

Deno.test("a client that never acknowledges a PING stalls at the bound, and shows in the metric", async () => {
  await using harness = await startHarness();
  await fillLog(harness, recordCount);
  const context = harness.service.context;
  const client = await RawH2Client.connect({ port: harness.grpc.port, ackPings: false });
  try {
    client.grantHugeWindow();
    const stream = client.consumeStream(0, `127.0.0.1:${harness.grpc.port}`);
    // strand_consume_streams_waiting is this count (agent/mod.ts).
    await eventually(() => context.streamsWaitingForClient === 1, "the stream to wait");
    // It reads everything it gets: what it got is all the server wrote.
    await eventually(
      () => client.receivedTotal >= harness.log.recordsRead * recordBytes - unreadBoundBytes,
      "the client to read what the server wrote",
    );
    const readBytes = harness.log.recordsRead * recordBytes;
    assert(readBytes <= unreadBoundBytes, `wrote ${readBytes} bytes, bound ${unreadBoundBytes}`);
    assert(client.messages(stream) < recordCount, "not the whole log");
    // The PING may still be on its way when the bytes before it have arrived: wait for it,
    // then check that the server sent no second one while the first is unanswered.
    await eventually(() => client.pings.length >= 1, "the server's PING");
    assert(client.pings.length === 1, `one PING outstanding, got ${client.pings.length}`);
  } finally {
    await client.close();
  }
  await eventually(() => context.streamsWaitingForClient === 0, "the wait to end with the client");
});

Deno.test("a reading grpc-js client gets a log many times the unread bound", async () => {
  await using harness = await startHarness();
  await fillLog(harness, recordCount);
  let count = 0;
  for await (const _ of harness.client.consumeStream(0, { limit: recordCount })) count++;
  assertEquals(count, recordCount);
  assertEquals(harness.service.context.streamsWaitingForClient, 0);
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
    { windowBytes: 1_000, socketBytes: 1_000, unacknowledgedBytes: 1_000 },
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
    { windowBytes: 0, socketBytes: 0, unacknowledgedBytes: 0 },
    new AbortController().signal,
  );
  windows.feed(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  await waiting; // woken by giving up
  assertEquals(windows.active, false);
  assertEquals(stream.backlog(), 0, "no account: grpc-js's write()/'drain' alone");
});

/** A pinger whose ACKs the test sends. */
function testPinger(accept = true) {
  const acks: ((error: unknown) => void)[] = [];
  return { acks, pinger: { ping: (done: (error: unknown) => void) => (acks.push(done), accept) } };
}

Deno.test("one PING per pingEveryBytes, one outstanding; its ACK credits what was written before", () => {
  const windows = new SessionSendWindows();
  const { acks, pinger } = testPinger();
  windows.attachPinger(pinger, 1000);
  const stream = windows.track(1);
  for (let i = 0; i < 9; i++) stream.wrote(100);
  assertEquals(acks.length, 0, "900 bytes: no PING");
  stream.wrote(100); // 1,000: a PING, covering the 900 before this write only
  stream.wrote(100);
  assertEquals(acks.length, 1, "one PING at 1,000 bytes");
  for (let i = 0; i < 30; i++) stream.wrote(100);
  assertEquals(acks.length, 1, "none while one is outstanding");
  assertEquals(windows.unacknowledged(), 4100);
  assert(
    !stream.within({ windowBytes: Infinity, socketBytes: Infinity, unacknowledgedBytes: 4000 }),
  );
  acks[0]!(null);
  assertEquals(windows.unacknowledged(), 3200, "the write that triggered it is not credited");
  assertEquals(acks.length, 2, "the next PING at once: 3,200 ≥ 1,000 unacknowledged");
  acks[1]!(null);
  assertEquals(windows.unacknowledged(), 0);
  assertEquals(acks.length, 2);
});

Deno.test("a waiting stream wakes on the ACK; a failed or refused PING falls back to no receipts", async () => {
  const limits = { windowBytes: Infinity, socketBytes: Infinity, unacknowledgedBytes: 1000 };
  const windows = new SessionSendWindows();
  const { acks, pinger } = testPinger();
  windows.attachPinger(pinger, 500);
  const stream = windows.track(1);
  for (let i = 0; i < 15; i++) stream.wrote(100); // a PING at 500 (covering 400)
  const waiting = stream.waitWithin(limits, new AbortController().signal);
  let woke = false;
  void waiting.then(() => woke = true);
  acks[0]!(null); // 1,100 unacknowledged: a PING covering all 1,500 goes at once
  await Promise.resolve();
  assertEquals(woke, false, "1,100 unacknowledged");
  acks[1]!(null);
  await waiting;
  for (let i = 0; i < 11; i++) stream.wrote(100);
  assert(!stream.within(limits), "1,100 unacknowledged");
  acks[2]!(new Error("ping cancelled"));
  assertEquals(windows.unacknowledged(), 0, "no receipts after a failed PING");
  assert(stream.within(limits));

  const refusing = new SessionSendWindows();
  refusing.attachPinger(testPinger(false).pinger, 500);
  const other = refusing.track(1);
  other.wrote(10_000);
  assertEquals(refusing.unacknowledged(), 0, "a PING not sent: no receipts");
});
