// One RPC port: gRPC clients and peers (Raft) share it; the listener dispatches each
// connection by its first bytes (plaintext) or by ALPN (TLS).
import { LogClient } from "../../client/mod.ts";
import {
  type PeerConnection,
  peerDialer,
  type PeerInfo,
  Service,
  startGrpcServer,
} from "../../server/mod.ts";
import { MemoryLog } from "./_memory_log.ts";
import { assert, assertEquals, eventually } from "./_assert.ts";
import {
  createCertificateAuthority,
  grpcChannelCredentials,
  grpcChannelOptions,
  grpcServerCredentials,
  issueNodeCertificate,
  PeerTls,
} from "../../security/mod.ts";
import type { ServerCredentials } from "@grpc/grpc-js";

interface Accepted {
  stream: PeerConnection;
  info: PeerInfo;
}

/** Starts a node whose peer connections echo what they read, and records them. */
async function startNode(
  options: { credentials?: ServerCredentials; peerCredentials?: ServerCredentials } = {},
) {
  const log = new MemoryLog(1024);
  const service = new Service({ log });
  const peers: Accepted[] = [];
  const grpc = await startGrpcServer(service, {
    host: "127.0.0.1",
    port: 0,
    handshakeTimeoutMs: 500,
    ...options,
    onPeerConnection(stream, info) {
      peers.push({ stream, info });
      void stream.readable.pipeTo(stream.writable).catch(() => {});
    },
  });
  service.setServing();
  return {
    grpc,
    peers,
    async [Symbol.asyncDispose]() {
      service.beginShutdown();
      log.waiters.close();
      for (const peer of peers) peer.stream.close();
      await grpc.close(1000);
    },
  };
}

async function echo(stream: PeerConnection, text: string): Promise<string> {
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  writer.releaseLock();
  const reader = stream.readable.getReader();
  let got = "";
  while (got.length < text.length) {
    const { value, done } = await reader.read();
    if (done) break;
    got += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return got;
}

Deno.test("plaintext: gRPC and a peer with the preamble share the RPC port", async () => {
  await using node = await startNode();
  const client = new LogClient(`127.0.0.1:${node.grpc.port}`);
  try {
    assertEquals(await client.produce(new Uint8Array([1])), 0);
    const peer = await peerDialer()(`127.0.0.1:${node.grpc.port}`);
    assertEquals(await echo(peer, "raft frames"), "raft frames");
    assertEquals(node.peers.length, 1);
    assertEquals(node.peers[0]!.info.tls, false);
    peer.close();
    assertEquals(await client.produce(new Uint8Array([2])), 1, "gRPC still served");
  } finally {
    client.close();
  }
});

Deno.test("TLS: ALPN h2 goes to gRPC, strand-raft to the peer with its verified certificate", async () => {
  const ca = await createCertificateAuthority();
  const peerCa = await createCertificateAuthority();
  const server = await issueNodeCertificate(ca, {
    commonName: "n1",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const n1Peer = await issueNodeCertificate(peerCa, { commonName: "n1", dnsNames: ["localhost"] });
  const n2Peer = await issueNodeCertificate(peerCa, { commonName: "n2", dnsNames: ["n2.local"] });
  const peerTlsOf = (cert: { certPem: string; keyPem: string }) =>
    new PeerTls({ certPem: cert.certPem, keyPem: cert.keyPem, caPem: peerCa.certPem });
  await using node = await startNode({
    credentials: grpcServerCredentials({ certPem: server.certPem, keyPem: server.keyPem }),
    peerCredentials: peerTlsOf(n1Peer).serverCredentials,
  });
  const client = new LogClient(`127.0.0.1:${node.grpc.port}`, {
    credentials: grpcChannelCredentials({ caPem: ca.certPem }),
    channelOptions: grpcChannelOptions("localhost"),
  });
  try {
    assertEquals(await client.produce(new Uint8Array([1])), 0);
    const dial = peerDialer(peerTlsOf(n2Peer).connectOptions("localhost"));
    const peer = await dial(`127.0.0.1:${node.grpc.port}`);
    assertEquals(await echo(peer, "over mutual TLS"), "over mutual TLS");
    const info = node.peers[0]!.info;
    assertEquals(info.tls, true);
    assertEquals(info.certificate?.commonName, "n2");
    assertEquals(info.certificate?.dnsNames, ["n2.local"]);
    peer.close();
    // A peer without a certificate of the peer CA never gets through.
    const stranger = await issueNodeCertificate(ca, { commonName: "n3", dnsNames: ["localhost"] });
    const badDial = peerDialer({
      ...peerTlsOf(n2Peer).connectOptions("localhost"),
      cert: stranger.certPem,
      key: stranger.keyPem,
    });
    let refused = false;
    try {
      const bad = await badDial(`127.0.0.1:${node.grpc.port}`);
      // TLS 1.3: the server checks the client certificate after the client's handshake ends.
      const reader = bad.readable.getReader();
      refused = await reader.read().then((r) => r.done, () => true);
    } catch {
      refused = true;
    }
    assert(refused, "a certificate from another CA is refused");
    assertEquals(node.peers.length, 1);
  } finally {
    client.close();
  }
});

Deno.test("a plaintext peer is refused when peers must use TLS, and garbage is closed", async () => {
  const peerCa = await createCertificateAuthority();
  const n1 = await issueNodeCertificate(peerCa, { commonName: "n1", dnsNames: ["localhost"] });
  const peerTls = new PeerTls({ certPem: n1.certPem, keyPem: n1.keyPem, caPem: peerCa.certPem });
  await using node = await startNode({ peerCredentials: peerTls.serverCredentials });
  const stats = node.grpc.connections;
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: node.grpc.port });
  await plain.write(new TextEncoder().encode("STRANDP1hello"));
  await eventually(() => stats.unknownProtocol === 1, "the plaintext peer to be refused");
  assertEquals(await plain.read(new Uint8Array(16)), null, "and its connection closed");
  plain.close();
  const junk = await Deno.connect({ hostname: "127.0.0.1", port: node.grpc.port });
  await junk.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  await eventually(() => stats.unknownProtocol === 2, "garbage to be refused");
  junk.close();
  assertEquals(node.peers.length, 0);
});

Deno.test("a connection that says nothing is closed after the handshake timeout", async () => {
  await using node = await startNode();
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: node.grpc.port });
  assertEquals(await silent.read(new Uint8Array(16)), null, "closed by the server");
  silent.close();
  assertEquals(node.grpc.connections.handshakeTimeouts, 1);
  await eventually(() => node.grpc.connections.open === 0, "its slot to be freed");
});

Deno.test("a TLS client that stops mid-handshake is closed after the timeout", async () => {
  const ca = await createCertificateAuthority();
  const server = await issueNodeCertificate(ca, { commonName: "n1", dnsNames: ["localhost"] });
  await using node = await startNode({
    credentials: grpcServerCredentials({ certPem: server.certPem, keyPem: server.keyPem }),
  });
  // A ClientHello record header promising more bytes than ever come.
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: node.grpc.port });
  await stalled.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  assertEquals(await stalled.read(new Uint8Array(16)), null, "closed by the server");
  stalled.close();
  assertEquals(node.grpc.connections.handshakeTimeouts, 1);
});
