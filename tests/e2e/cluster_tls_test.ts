/**
 * The book's secure cluster: every node presents the same `root` certificate to clients and
 * peers (mutual TLS against one CA), the book's ACL, and encrypted gossip.
 */
import { Buffer } from "node:buffer";
import { credentials, status as GrpcStatus } from "@grpc/grpc-js";
import { LogClient } from "../../client/mod.ts";
import { generateGossipKey } from "../../discovery/mod.ts";
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";
import { BOOK_MODEL_FILE, BOOK_POLICY_FILE, makeCertificates } from "../security/_helpers.ts";
import { TestCluster } from "./_cluster.ts";
import { runCli, startNode } from "./_node.ts";

const tlsChannel = {
  "grpc.ssl_target_name_override": "localhost",
  "grpc.default_authority": "localhost",
};

async function certificates(dir: string) {
  // The book's setup: one certificate named root, for clients and for peers alike.
  const files = await makeCertificates(dir, ["nobody"], { nodeName: "root" });
  const read = (path: string) => Buffer.from(Deno.readFileSync(path));
  return { files, read };
}

Deno.test("cluster: three nodes under mutual TLS, the book's ACL and an encrypted gossip key", async () => {
  const certDir = await Deno.makeTempDir({ prefix: "strand-cluster-certs-" });
  const { files, read } = await certificates(certDir);
  const gossipKey = generateGossipKey();
  const prepare = async (dataDir: string) => {
    const copy = async (from: string, name: string) => {
      await Deno.copyFile(from, `${dataDir}/${name}`);
      return `${dataDir}/${name}`;
    };
    const ca = await copy(files.caFile, "ca.pem");
    const cert = await copy(files.nodeCertFile, "root.pem");
    const key = await copy(files.nodeKeyFile, "root-key.pem");
    const model = await copy(BOOK_MODEL_FILE, "model.conf");
    const policy = await copy(BOOK_POLICY_FILE, "policy.csv");
    await Deno.writeTextFile(`${dataDir}/gossip.key`, gossipKey);
    return [
      ...["--server-tls-cert-file", cert, "--server-tls-key-file", key, "--server-tls-ca-file", ca],
      ...["--peer-tls-cert-file", cert, "--peer-tls-key-file", key, "--peer-tls-ca-file", ca],
      ...["--acl-model-file", model, "--acl-policy-file", policy],
      ...["--gossip-key-file", `${dataDir}/gossip.key`],
    ];
  };
  const rootCredentials = credentials.createSsl(
    read(files.caFile),
    read(files.nodeKeyFile),
    read(files.nodeCertFile),
  );
  const cluster = await TestCluster.start(["n1", "n2", "n3"], {
    prepare,
    clientOptions: { credentials: rootCredentials, channelOptions: tlsChannel },
  });
  try {
    const leader = (await cluster.leader())!;
    const follower = cluster.live().find((member) => member.name !== leader)!;
    const servers = await follower.client.getServers();
    assertEquals(servers.map((server) => server.id).sort(), ["n1", "n2", "n3"]);
    // A write through a follower is forwarded to the leader over mutual TLS.
    const offset = await follower.client.produce(encoder.encode("secure"));
    for (const member of cluster.live()) {
      assertEquals(decoder.decode((await member.client.consume(offset)).value), "secure");
    }
    // The ACL still decides: "nobody" may not produce, on a follower either.
    const nobody = files.client("nobody");
    const denied = new LogClient(follower.node.rpcAddr, {
      credentials: credentials.createSsl(
        read(files.caFile),
        read(nobody.keyFile),
        read(nobody.certFile),
      ),
      channelOptions: tlsChannel,
    });
    try {
      const code = await denied.produce(encoder.encode("x")).then(() => "ok", (e) => e.code);
      assertEquals(code, GrpcStatus.PERMISSION_DENIED);
    } finally {
      denied.close();
    }
    // Gossip is sealed with the key: nothing readable crosses --bind-addr.
    for (const member of cluster.live()) {
      assert(!member.node.output().includes("INSECURE: gossip"), member.node.output());
    }
  } finally {
    await cluster.close();
    await Deno.remove(certDir, { recursive: true });
  }
});

Deno.test("cluster: a TLS cluster without a gossip key refuses to start unless --insecure-gossip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "strand-cluster-nokey-" });
  try {
    const { files } = await certificates(`${dir}/certs`);
    const tls = [
      ...["--server-tls-cert-file", files.nodeCertFile, "--server-tls-key-file", files.nodeKeyFile],
      ...["--bind-addr", "127.0.0.1:0", "--rpc-port", "0", "--http-port", "0"],
    ];
    const refused = await runCli(["serve", "--data-dir", `${dir}/d`, ...tls, "--bootstrap"]);
    assertEquals(refused.code, 2, refused.stderr);
    assert(refused.stderr.includes("Cannot start a TLS cluster with unauthenticated gossip"));
    const node = await startNode(`${dir}`, [...tls, "--bootstrap", "--insecure-gossip"]);
    try {
      assert(node.output().includes("INSECURE: gossip"), node.output());
    } finally {
      await node.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
