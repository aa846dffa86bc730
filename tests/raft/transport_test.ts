import { dialTcp, encodeFrame, type Message, MessageType, PeerTransport } from "../../raft/mod.ts";
import { EntryKind } from "../../log/mod.ts";
import { assert, assertEquals } from "./_harness.ts";

/** Resolves when `count` messages arrived (or rejects after a deadline). */
function collector(
  count: number,
): { messages: Message[]; done: Promise<void>; push(m: Message): void } {
  const messages: Message[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(
    () => reject(new Error(`only ${messages.length}/${count} arrived`)),
    10_000,
  );
  return {
    messages,
    done: promise.finally(() => clearTimeout(timer)),
    push(message) {
      messages.push(message);
      if (messages.length === count) resolve();
    },
  };
}

const quiet = { warn: () => {}, error: () => {} };

/** Resolves once `condition` holds, checking on every macrotask turn; rejects after 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5)); // poll, bounded by the deadline
  }
}

Deno.test("transport: messages travel both ways over TCP, in order", async () => {
  const atA = collector(50);
  const atB = collector(50);
  const a = new PeerTransport({ onMessage: atA.push });
  const b = new PeerTransport({ onMessage: atB.push });
  try {
    const portA = a.listen({ hostname: "127.0.0.1", port: 0 }).port;
    const portB = b.listen({ hostname: "127.0.0.1", port: 0 }).port;
    a.setPeer("b", `127.0.0.1:${portB}`);
    b.setPeer("a", `127.0.0.1:${portA}`);
    for (let i = 0; i < 50; i++) {
      a.send({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1, commit: i, readSeq: 0 });
      b.send({ type: MessageType.HeartbeatResponse, from: "b", to: "a", term: 1, readSeq: i });
    }
    await Promise.all([atA.done, atB.done]);
    assertEquals(atB.messages.map((m) => "commit" in m ? m.commit : -1), [...Array(50).keys()]);
    assertEquals(atA.messages.map((m) => "readSeq" in m ? m.readSeq : -1), [...Array(50).keys()]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("transport: accept() serves a connection someone else accepted", async () => {
  const received = collector(1);
  const server = new PeerTransport({ onMessage: received.push });
  const client = new PeerTransport({ onMessage: () => {} });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const accepted = listener.accept().then((conn) => server.accept(conn));
    client.setPeer("s", `127.0.0.1:${port}`);
    client.send({ type: MessageType.TimeoutNow, from: "c", to: "s", term: 4 });
    await accepted;
    await received.done;
    assertEquals(received.messages[0]?.type, MessageType.TimeoutNow);
  } finally {
    listener.close();
    await client.close();
    await server.close();
  }
});

Deno.test("transport: a failed dial drops the queue; the next send redials", async () => {
  const received = collector(1);
  const receiver = new PeerTransport({ onMessage: received.push });
  const firstDialFailed = Promise.withResolvers<void>();
  let dials = 0;
  const sender = new PeerTransport({
    onMessage: () => {},
    redialMs: 0,
    logger: quiet,
    dial: (address) => {
      if (dials++ === 0) {
        firstDialFailed.resolve();
        return Promise.reject(new Deno.errors.ConnectionRefused("peer down"));
      }
      return dialTcp(address);
    },
  });
  try {
    const port = receiver.listen({ hostname: "127.0.0.1", port: 0 }).port;
    sender.setPeer("r", `127.0.0.1:${port}`);
    sender.send({ type: MessageType.TimeoutNow, from: "s", to: "r", term: 1 });
    await firstDialFailed.promise;
    await until(() => sender.stats().droppedMessages === 1, "the failed dial to drop the queue");
    sender.send({ type: MessageType.TimeoutNow, from: "s", to: "r", term: 2 });
    await received.done;
    assertEquals(received.messages.map((m) => m.term), [2]);
    assertEquals(dials, 2);
  } finally {
    await sender.close();
    await receiver.close();
  }
});

Deno.test("transport: a handler that throws drops that message only; the node carries on", async () => {
  const received = collector(2);
  let calls = 0;
  const server = new PeerTransport({
    logger: quiet,
    onMessage: (message) => {
      if (calls++ === 0) throw new Error("bug triggered by a bad message");
      received.push(message);
    },
  });
  const client = new PeerTransport({ onMessage: () => {}, logger: quiet });
  try {
    const port = server.listen({ hostname: "127.0.0.1", port: 0 }).port;
    client.setPeer("s", `127.0.0.1:${port}`);
    for (const term of [1, 2, 3]) {
      client.send({ type: MessageType.TimeoutNow, from: "c", to: "s", term });
    }
    await received.done;
    assertEquals(received.messages.map((m) => m.term), [2, 3]);
    assertEquals(server.stats().handlerErrors, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("transport: a frame with a bad checksum drops the connection and is counted", async () => {
  const received = collector(1);
  const server = new PeerTransport({ onMessage: received.push, logger: quiet });
  try {
    const port = server.listen({ hostname: "127.0.0.1", port: 0 }).port;
    const frame = encodeFrame({ type: MessageType.TimeoutNow, from: "c", to: "s", term: 7 });
    const bad = frame.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new Uint8Array([...bad, ...frame]));
    await until(() => server.stats().badFrames === 1, "the bad frame to be counted");
    // The server closed the connection: the read ends (EOF or reset) instead of hanging.
    const eof = await conn.read(new Uint8Array(1)).catch(() => null);
    conn.close();
    assertEquals(eof, null, "the server closes the connection after a bad frame");
    assertEquals(received.messages.length, 0, "nothing after the bad frame was delivered");
    const good = await Deno.connect({ hostname: "127.0.0.1", port });
    await good.write(frame);
    await received.done;
    good.close();
    assertEquals(received.messages[0]?.term, 7);
  } finally {
    await server.close();
  }
});

Deno.test("transport: a damaged frame length drops the connection at once and is counted", async () => {
  const server = new PeerTransport({ onMessage: () => {}, logger: quiet });
  try {
    const port = server.listen({ hostname: "127.0.0.1", port: 0 }).port;
    const frame = encodeFrame({ type: MessageType.TimeoutNow, from: "c", to: "s", term: 7 });
    const bad = frame.slice();
    // A larger length: without a header check the server would wait for bytes never sent.
    bad[2] = (bad[2] as number) ^ 0x10;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(bad);
    await until(() => server.stats().badHeaders === 1, "the bad header to be counted");
    const eof = await conn.read(new Uint8Array(1)).catch(() => null);
    conn.close();
    assertEquals(eof, null, "the server closes the connection after a bad header");
    assertEquals(server.stats().badFrames, 1);
  } finally {
    await server.close();
  }
});

Deno.test("transport: on a connection authenticated as a node, only that node may speak", async () => {
  const received = collector(1);
  const server = new PeerTransport({ onMessage: received.push, logger: quiet });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = listener.accept().then((conn) => server.accept(conn, { peerName: "c" }));
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
    });
    await accepted;
    await conn.write(
      encodeFrame({ type: MessageType.TimeoutNow, from: "mallory", to: "s", term: 1 }),
    );
    await conn.write(encodeFrame({ type: MessageType.TimeoutNow, from: "c", to: "s", term: 2 }));
    await received.done;
    conn.close();
    assertEquals(received.messages.map((m) => [m.from, m.term]), [["c", 2]]);
    assertEquals(server.stats().identityMismatches, 1);
  } finally {
    listener.close();
    await server.close();
  }
});

Deno.test("transport: a peer that stops reading costs a write timeout, then traffic resumes", async () => {
  const received: Message[] = [];
  const receiver = new PeerTransport({ onMessage: (m) => received.push(m), logger: quiet });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hung: Deno.Conn[] = [];
  let drops = 0;
  const sender = new PeerTransport({
    onMessage: () => {},
    logger: quiet,
    writeTimeoutMs: 300,
    redialMs: 0,
    queueBytesMax: 4 << 20,
    onDrop: () => drops++,
  });
  const accepting = (async () => {
    for await (const conn of listener) {
      // The first connection is accepted and never read: a hung peer.
      if (hung.length === 0) hung.push(conn);
      else receiver.accept(conn);
    }
  })().catch(() => {});
  const record = new Uint8Array(1 << 20);
  let index = 0;
  const append = (): Message => ({
    type: MessageType.Append,
    from: "l",
    to: "f",
    term: 1,
    prevIndex: index,
    prevTerm: 1,
    commit: 0,
    entries: [{
      term: 1,
      index: ++index,
      kind: EntryKind.Records,
      baseOffset: index,
      records: [record],
      data: new Uint8Array(),
    }],
  });
  // A leader's traffic: heartbeats, and 1 MiB appends it keeps (re)sending to the follower.
  const heartbeat = setInterval(() => {
    sender.send(append());
    sender.send({
      type: MessageType.Heartbeat,
      from: "l",
      to: "f",
      term: 1,
      commit: 9,
      readSeq: 0,
    });
  }, 20);
  try {
    sender.setPeer("f", `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
    for (let i = 0; i < 64; i++) sender.send(append());
    await until(
      () => received.some((m) => m.type === MessageType.Heartbeat),
      "a heartbeat after the hang",
    );
    const stats = sender.stats();
    assert(stats.writeTimeouts >= 1, `write timeouts: ${stats.writeTimeouts}`);
    assert(stats.droppedMessages >= 1 && drops >= 1, `drops: ${stats.droppedMessages}/${drops}`);
    const staleBefore = received.findIndex((m) => m.type === MessageType.Heartbeat);
    assert(staleBefore <= 8, `the heartbeat waited behind ${staleBefore} stale appends`);
  } finally {
    clearInterval(heartbeat);
    await sender.close();
    for (const conn of hung) conn.close();
    listener.close();
    await accepting;
    await receiver.close();
  }
});

Deno.test("transport: a peer that is down costs one log line per outage, not one per redial", async () => {
  const lines: string[] = [];
  let dials = 0;
  const sender = new PeerTransport({
    onMessage: () => {},
    redialMs: 0,
    logger: { warn: (message) => lines.push(message), error: (message) => lines.push(message) },
    dial: () => {
      dials++;
      return Promise.reject(new Deno.errors.ConnectionRefused("peer down"));
    },
  });
  try {
    sender.setPeer("r", "127.0.0.1:1");
    for (let i = 0; i < 5; i++) {
      sender.send({ type: MessageType.TimeoutNow, from: "s", to: "r", term: i });
      await until(() => sender.stats().dialFailures === i + 1, `dial ${i + 1} to fail`);
    }
    assertEquals(dials, 5);
    assertEquals(lines.length, 1, lines.join("\n"));
  } finally {
    await sender.close();
  }
});

Deno.test("transport: one write watchdog times out a slow write, never a recent one, and stops on close", async () => {
  // A fake clock and timers, and a stream whose writes complete only when told to.
  let now = 0;
  const timers = new Set<{ at: number; run: () => void }>();
  const fire = (at: number) => {
    now = at;
    for (const timer of [...timers]) {
      if (timer.at <= now) {
        timers.delete(timer);
        timer.run();
      }
    }
  };
  const writes: PromiseWithResolvers<void>[] = [];
  const stream = () => ({
    readable: new ReadableStream<Uint8Array>(),
    writable: new WritableStream<Uint8Array>({
      write: () => {
        const write = Promise.withResolvers<void>();
        writes.push(write);
        return write.promise;
      },
    }),
    close: () => {},
  });
  const sender = new PeerTransport({
    onMessage: () => {},
    logger: { warn: () => {}, error: () => {} },
    writeTimeoutMs: 100,
    redialMs: 0,
    nowMs: () => now,
    after: (delayMs, run) => {
      const timer = { at: now + delayMs, run };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    dial: () => Promise.resolve(stream()),
  });
  const message = (term: number): Message => ({
    type: MessageType.TimeoutNow,
    from: "s",
    to: "r",
    term,
  });
  try {
    sender.setPeer("r", "127.0.0.1:1");
    sender.send(message(1)); // write 1 at t=0 arms the watchdog for t=100
    await until(() => writes.length === 1, "write 1");
    assertEquals(timers.size, 1);
    now = 90;
    writes[0]!.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
    now = 95;
    sender.send(message(2)); // write 2 starts at t=95
    await until(() => writes.length === 2, "write 2");
    fire(100); // 5 ms into write 2: not a timeout; the watchdog waits until t=195
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(sender.stats().writeTimeouts, 0);
    assertEquals(timers.size, 1);
    fire(194);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(sender.stats().writeTimeouts, 0);
    fire(195); // write 2 has now run 100 ms
    await until(() => sender.stats().writeTimeouts === 1, "the write timeout");
    assertEquals(sender.stats().connects, 1);
    fire(195); // no write in progress when the redial below starts: nothing armed yet
    sender.send(message(3)); // redials and arms the watchdog again
    await until(() => writes.length === 3, "write 3");
    assertEquals(timers.size, 1);
  } finally {
    await sender.close();
  }
  assertEquals(timers.size, 0, "the watchdog's timer is cancelled on close");
});
