import { Buffer } from "node:buffer";
import tls from "node:tls";
import { PeerTls, SecurityError, SecurityState } from "../../security/mod.ts";
import { assert, assertEquals, certs, makeCertificates, tempDir } from "./_helpers.ts";
import { callGrpc, startGrpcServer } from "./_servers.ts";

Deno.test("peer TLS: nodes present their node certificate and see each other's name", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, [], { nodeName: "node-1" });
  await certs(["node", "--dir", dir.path, "--name", "node-2", "--dns", "localhost"]);
  const node1 = await SecurityState.load({
    peerTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
  });
  const node2 = await SecurityState.load({
    peerTls: {
      certFile: `${dir.path}/node-2.pem`,
      keyFile: `${dir.path}/node-2-key.pem`,
      caFile: files.caFile,
    },
  });
  // Serve node-1's peer credentials with the test service; node-2 dials it.
  const peer1 = node1.peerTls!;
  assertEquals(peer1.nodeName, "node-1");
  const server = await startGrpcServer(withCredentials(node1, peer1.serverCredentials));
  try {
    const result = await callGrpc(server.port, "produce", node2.peerTls!.channelCredentials());
    assertEquals(result, { subject: "node-2" });
  } finally {
    await server.stop();
    await node1.close();
    await node2.close();
  }
});

Deno.test("peer TLS: a raw TLS connection with connectOptions verifies both sides", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const material = {
    certPem: await Deno.readTextFile(files.nodeCertFile),
    keyPem: await Deno.readTextFile(files.nodeKeyFile),
    caPem: await Deno.readTextFile(files.caFile),
  };
  const peer = new PeerTls(material);
  const server = tls.createServer({
    cert: material.certPem,
    key: material.keyPem,
    ca: material.caPem,
    requestCert: true,
    rejectUnauthorized: true,
  }, (socket) => {
    socket.end(String(socket.getPeerCertificate().subject?.CN));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const seen = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ ...peer.connectOptions("localhost"), host: "localhost", port });
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("end", () => resolve(Buffer.concat(chunks).toString()));
      socket.on("error", reject);
    });
    assertEquals(seen, "node-1");
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

Deno.test("peer TLS without a CA is refused: peers always authenticate each other", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  let caught: unknown;
  try {
    await SecurityState.load({
      peerTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile },
    });
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof SecurityError, String(caught));
  assertEquals(caught.code, "TLS_FILE_INVALID");
});

/** The authorizer of `state`, serving on `credentials` (here: the peer listener's). */
function withCredentials(
  state: SecurityState,
  credentials: PeerTls["serverCredentials"],
): Pick<SecurityState, "authorize" | "grpcServerCredentials"> {
  return {
    authorize: (subject, action) => state.authorize(subject, action),
    grpcServerCredentials: () => credentials,
  };
}
