import * as tls from "node:tls";
import {
  dialTls,
  type Message,
  MessageType,
  PeerTransport,
  streamFromSocket,
} from "../../raft/mod.ts";
import { makeCertificates } from "../security/_helpers.ts";
import { assertEquals } from "./_harness.ts";

Deno.test("transport: peers exchange messages over mutual TLS with node:tls options", async () => {
  const dir = await Deno.makeTempDir({ prefix: "strand_raft_tls_" });
  const received = Promise.withResolvers<Message>();
  const server = new PeerTransport({ onMessage: received.resolve });
  let listener: tls.Server | null = null;
  try {
    const certs = await makeCertificates(dir, []);
    const material = {
      ca: await Deno.readTextFile(certs.caFile),
      cert: await Deno.readTextFile(certs.nodeCertFile),
      key: await Deno.readTextFile(certs.nodeKeyFile),
    };
    const tlsServer = tls.createServer(
      { ...material, requestCert: true, rejectUnauthorized: true },
      (socket) => server.accept(streamFromSocket(socket)),
    );
    listener = tlsServer;
    const listening = Promise.withResolvers<number>();
    tlsServer.listen(0, "127.0.0.1", () => {
      listening.resolve((tlsServer.address() as { port: number }).port);
    });
    const port = await listening.promise;
    const clientWithTls = new PeerTransport({
      onMessage: () => {},
      dial: dialTls(() => ({ ...material, servername: "localhost" })),
    });
    try {
      clientWithTls.setPeer("s", `localhost:${port}`);
      clientWithTls.send({ type: MessageType.TimeoutNow, from: "c", to: "s", term: 3 });
      const timer = setTimeout(() => received.reject(new Error("no message over TLS")), 10_000);
      const message = await received.promise.finally(() => clearTimeout(timer));
      assertEquals([message.type, message.from, message.term], [MessageType.TimeoutNow, "c", 3]);
    } finally {
      await clientWithTls.close();
    }
  } finally {
    await server.close();
    if (listener !== null) {
      const closed = Promise.withResolvers<void>();
      listener.close(() => closed.resolve());
      await closed.promise;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
