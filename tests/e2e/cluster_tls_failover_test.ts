/**
 * The key failure scenario under the book's security setup (mutual TLS for clients and peers
 * with the shared `root` certificate, the book's ACL, an encrypted gossip key): SIGKILL of the
 * leader elects another, writes go on, nothing acknowledged is lost, the old leader restarts
 * and catches up.
 */
import { assert } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";
import { assertHolds, produceAcked } from "./_cluster_io.ts";
import { secureSetup } from "./_cluster_tls.ts";

const NAMES = ["n1", "n2", "n3"];

Deno.test("cluster: under mutual TLS and the ACL a killed leader is replaced, nothing acknowledged is lost, it catches up", async () => {
  await using secure = await secureSetup();
  const cluster = await TestCluster.start(NAMES, {
    prepare: secure.prepare,
    clientOptions: secure.clientOptions,
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
  }
});
