/** ConnSocket's read side: what it hands on stays intact while it reads on. */
import { Buffer } from "node:buffer";
import { ConnSocket } from "../../server/_conn_socket.ts";
import { assert, assertEquals, eventually } from "./_assert.ts";

/** `length` bytes that differ from any shifted copy of themselves (a reused buffer shows). */
function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + (i >> 8)) % 251);
}

Deno.test("ConnSocket: chunks queued unread keep their bytes while later reads arrive", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  const socket = new ConnSocket(conn, conn.readable.getReader({ mode: "byob" }), null);
  try {
    const sent = pattern(256 * 1024);
    // Write in pieces, each awaited, so the socket reads many separate chunks.
    const writing = (async () => {
      for (let at = 0; at < sent.length; at += 3000) {
        const piece = sent.subarray(at, Math.min(sent.length, at + 3000));
        for (let done = 0; done < piece.length;) done += await client.write(piece.subarray(done));
      }
      await client.closeWrite();
    })();
    socket.read(0); // starts reading without consuming: chunks queue up to the high-water mark
    await eventually(() => socket.readableLength >= socket.readableHighWaterMark, "queued chunks");
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    await writing;
    assert(chunks.length > 1, `expected several chunks, got ${chunks.length}`);
    const received = Buffer.concat(chunks);
    assertEquals(received.length, sent.length);
    const firstDiff = received.findIndex((byte, i) => byte !== sent[i]);
    assertEquals(firstDiff, -1, "every byte as sent, in order");
    assertEquals(socket.bytesRead, sent.length);
  } finally {
    socket.destroy();
    client.close();
  }
});

Deno.test("ConnSocket: what is written in one turn reaches the kernel in one write", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  const socket = new ConnSocket(conn, conn.readable.getReader({ mode: "byob" }), null);
  try {
    let flushes = 0;
    socket.onFlush(() => flushes++);
    const pieces = [pattern(100), pattern(2000).reverse(), pattern(30)];
    for (const piece of pieces) socket.write(piece);
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    assertEquals(socket.unflushedBytes, total, "counted as soon as written");
    // Nothing else is written: the turn's writes must go out on their own.
    await eventually(() => socket.unflushedBytes === 0, "the writes flushed");
    assertEquals(flushes, 1, "one kernel write for the turn");
    const received = new Uint8Array(total);
    for (let at = 0; at < total;) {
      const n = await client.read(received.subarray(at));
      assert(n !== null, "connection ended early");
      at += n;
    }
    assertEquals(received.join(), pieces.map((piece) => [...piece].join()).join(), "in order");
  } finally {
    socket.destroy();
    client.close();
  }
});
