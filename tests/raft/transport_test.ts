import { dialTcp, type Message, MessageType, PeerTransport } from "../../raft/mod.ts";
import { assertEquals } from "./_harness.ts";

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
    await Promise.resolve(); // let the failed sender loop unwind before the next send
    sender.send({ type: MessageType.TimeoutNow, from: "s", to: "r", term: 2 });
    await received.done;
    assertEquals(received.messages.map((m) => m.term), [2]);
    assertEquals(dials, 2);
  } finally {
    await sender.close();
    await receiver.close();
  }
});
