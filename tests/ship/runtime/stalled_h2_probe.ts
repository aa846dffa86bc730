/**
 * Does this Deno's node:http2 server apply HTTP/2 flow control to a stream's writes? A server
 * stream writes 64 KiB chunks, honouring `write()`'s return value and 'drain', to a client that
 * reads every byte off the socket but grants no credit (no WINDOW_UPDATE). With backpressure
 * the writes stop near the client's 64 KiB window plus the stream's buffer; without it (Deno
 * 2.8.3: writes complete once queued in nghttp2) the server accepts everything and holds it in
 * memory. Prints one JSON line; exit 0 when the runtime stopped the writer.
 *
 * Run: `<deno> run -A --no-check tests/ship/runtime/stalled_h2_probe.ts`
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { RawH2Client } from "../../server/_raw_h2.ts";

const chunkBytes = 64 * 1024;
const writeBytesMax = 128 * 1024 * 1024; // give up counting here: clearly no backpressure
const drainWaitMs = 1500; // a stalled client never drains: this long without 'drain' = stopped
const stoppedBelowBytes = 8 * 1024 * 1024;

interface Outcome {
  acceptedBytes: number;
  rssGrowthBytes: number;
}

function writer(stream: http2.ServerHttp2Stream, done: (outcome: Outcome) => void): void {
  const chunk = new Uint8Array(chunkBytes).fill(7);
  const rssBefore = Deno.memoryUsage().rss;
  let accepted = 0;
  const finish = () =>
    done({ acceptedBytes: accepted, rssGrowthBytes: Deno.memoryUsage().rss - rssBefore });
  const pump = () => {
    while (accepted < writeBytesMax) {
      const more = stream.write(chunk);
      accepted += chunkBytes;
      if (!more) {
        const timer = setTimeout(finish, drainWaitMs);
        stream.once("drain", () => {
          clearTimeout(timer);
          pump();
        });
        return;
      }
    }
    finish();
  };
  pump();
}

const server = http2.createServer();
const outcome = new Promise<Outcome>((resolve) => {
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    writer(stream, resolve);
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;
const client = await RawH2Client.connect({ port });
client.consumeStream(0, `127.0.0.1:${port}`);
const result = await Promise.race([
  outcome,
  new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error("no outcome in 60 s")), 60_000)
  ),
]);
const stopped = result.acceptedBytes < stoppedBelowBytes;
console.log(
  JSON.stringify({
    deno: Deno.version.deno,
    ...result,
    receivedBytes: client.received.get(1) ?? 0,
    stopped,
  }),
);
await client.close();
server.close();
Deno.exit(stopped ? 0 : 1);
