/**
 * The key failure scenario under the book's security setup (mutual TLS for clients and peers
 * with the shared `root` certificate, the book's ACL, an encrypted gossip key): SIGKILL of the
 * leader elects another, writes go on, nothing acknowledged is lost, the old leader restarts
 * and catches up.
 */
import { Buffer } from "node:buffer";
import { credentials } from "@grpc/grpc-js";
import { generateGossipKey } from "../../discovery/mod.ts";
import { assert } from "../server/_assert.ts";
import { BOOK_MODEL_FILE, BOOK_POLICY_FILE, makeCertificates } from "../security/_helpers.ts";
import { TestCluster, until } from "./_cluster.ts";
import { assertHolds, produceAcked } from "./_cluster_io.ts";

const NAMES = ["n1", "n2", "n3"];

Deno.test("cluster: under mutual TLS and the ACL a killed leader is replaced, nothing acknowledged is lost, it catches up", async () => {
  const certDir = await Deno.makeTempDir({ prefix: "strand-cluster-tls-failover-" });
  const files = await makeCertificates(certDir, [], { nodeName: "root" });
  const read = (path: string) => Buffer.from(Deno.readFileSync(path));
  const gossipKey = generateGossipKey();
  const prepare = async (dataDir: string) => {
    const copy = async (from: string, name: string) => {
      await Deno.copyFile(from, `${dataDir}/${name}`);
      return `${dataDir}/${name}`;
    };
    const [ca, cert, key] = [
      await copy(files.caFile, "ca.pem"),
      await copy(files.nodeCertFile, "root.pem"),
      await copy(files.nodeKeyFile, "root-key.pem"),
    ];
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
  const cluster = await TestCluster.start(NAMES, {
    prepare,
    clientOptions: {
      credentials: credentials.createSsl(
        read(files.caFile),
        read(files.nodeKeyFile),
        read(files.nodeCertFile),
      ),
      channelOptions: {
        "grpc.ssl_target_name_override": "localhost",
        "grpc.default_authority": "localhost",
      },
    },
  });
  try {
    const leader = (await cluster.leader())!;
    const survivors = cluster.live().filter((member) => member.name !== leader);
    const acked = new Map<number, string>();
    for (let i = 0; i < 6; i++) {
      acked.set(await produceAcked(survivors[i % 2]!, `t${i}`), `t${i}`);
    }
    await cluster.stop(leader, "SIGKILL");
    for (let i = 6; i < 10; i++) {
      acked.set(await produceAcked(survivors[i % 2]!, `t${i}`), `t${i}`);
    }
    const next = await until("a new leader", () => cluster.leader());
    assert(next !== leader, "the killed node is still reported as leader");
    const args = leader === "n1"
      ? ["--bootstrap"]
      : ["--start-join-addrs", survivors[0]!.gossipAddr];
    const back = await cluster.restart(leader, args);
    await cluster.waitForVoters(NAMES);
    for (const member of [...survivors, back]) await assertHolds(member, acked);
  } finally {
    await cluster.close();
    await Deno.remove(certDir, { recursive: true });
  }
});
