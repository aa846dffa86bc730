// The servers write stream messages framed by us, in few HTTP/2 writes (server/_grpc_raw_writer.ts):
// checked against a real grpc-js call (so a grpc-js upgrade that moves its internals fails here
// instead of silently falling back), and the ProduceStream answer backlog against a fake call.
import { EventEmitter } from "node:events";
import { Server, ServerCredentials, type ServerWritableStream } from "@grpc/grpc-js";
import { LogClient } from "../../client/mod.ts";
import { encodeConsumeResponse, logService } from "../../proto/mod.ts";
import { ServiceContext } from "../../server/_context.ts";
import { rawMessageWriterOf } from "../../server/_grpc_raw_writer.ts";
import { pipelineProduce, windowOverrunBytesMax } from "../../server/_grpc_stream.ts";
import { tapSession } from "../../server/_h2_send_window.ts";
import { assert, assertEquals, encoder, eventually } from "./_assert.ts";
import { MemoryLog } from "./_memory_log.ts";
import { FakeDuplex } from "./_fake_calls.ts";

Deno.test("a real grpc-js call takes framed messages in one write, then ends with its status", async () => {
  const server = new Server();
  let found = false;
  let afterCancel = 0;
  server.addService(logService, {
    consumeStream(call: ServerWritableStream<unknown, unknown>) {
      const writer = rawMessageWriterOf(call);
      found = writer !== null;
      if (!writer) return call.end();
      const messages = ["a", "b", "c"].map((value, offset) =>
        encodeConsumeResponse({
          record: { value: encoder.encode(value), offset, term: 0, type: 0 },
        })
      );
      const { bytes } = writer.write(messages);
      assertEquals(bytes, messages.reduce((sum, m) => sum + 5 + m.length, 0));
      call.end();
      call.once("finish", () => afterCancel = writer.write(messages).bytes);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    })
  );
  const client = new LogClient(`127.0.0.1:${port}`);
  try {
    const values: string[] = [];
    for await (const record of client.consumeStream(0)) {
      values.push(new TextDecoder().decode(record.value));
    }
    assert(found, "grpc-js's call chain has the shape the raw writer needs");
    assertEquals(values, ["a", "b", "c"], "three messages, then a clean end");
    await eventually(() => afterCancel !== 0, "the write after the end");
    assertEquals(afterCancel, -1, "nothing is written once the call is over");
  } finally {
    client.close();
    server.forceShutdown();
  }
});

/** A duplex call over a fake HTTP/2 stream and session, so answers take the raw path. */
class FakeProduceCall extends FakeDuplex {
  /** Answers written and their bytes (each raw write holds whole framed messages). */
  answers = 0;
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
        const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        for (let at = 0; at < chunk.length; at += 5 + view.getUint32(at + 1)) this.answers++;
        this.answeredBytes += chunk.length;
        return true;
      },
    });
    this.call = { stream, maybeSendMetadata() {}, checkCancelled: () => false };
    tapSession(this.session);
    this.socket.emit("data", new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  }
  grant(stream: number, increment: number): void {
    const frame = new Uint8Array(13);
    const view = new DataView(frame.buffer);
    view.setUint32(0, 4 << 8);
    frame[3] = 0x8; // WINDOW_UPDATE
    view.setUint32(5, stream);
    view.setUint32(9, increment);
    this.socket.emit("data", frame);
  }
  override write(): boolean {
    throw new Error("answers go through the raw writer");
  }
}

Deno.test("ProduceStream stops reading a client that does not read its answers", async () => {
  const log = new MemoryLog(1024);
  const context = new ServiceContext({ log }, () => []);
  const call = new FakeProduceCall();
  // deno-lint-ignore no-explicit-any
  pipelineProduce(context, call as any, () => {});
  const request = { record: { value: new Uint8Array([1]) }, records: [] };
  // Answers are ~10 bytes: ~13,000 requests put the client 128 KiB beyond its 64 KiB window.
  // Send while the server reads, then let every request be answered: with nothing in flight,
  // only the client's backlog can keep the input paused.
  let sent = 0;
  let heldWithNothingInFlight = false;
  while (sent < 300_000 && !heldWithNothingInFlight) {
    while (!call.paused) {
      call.emit("data", request);
      sent++;
    }
    await eventually(() => call.answers === sent || !call.paused, "the in-flight answers");
    heldWithNothingInFlight = call.answers === sent && call.paused;
  }
  assert(heldWithNothingInFlight, `input held with every request answered (sent ${sent})`);
  const bound = 65_535 + windowOverrunBytesMax;
  assert(call.answeredBytes > bound, `answered ${call.answeredBytes} bytes`);
  assert(call.answeredBytes < bound + 64 * 1024, "and not much beyond the bound");
  call.grant(1, 4 * 1024 * 1024);
  call.grant(0, 4 * 1024 * 1024);
  await eventually(() => !call.paused, "reading to resume once the client reads");
});
