/**
 * Restarts the book's cluster must survive: the bootstrap node killed and restarted with its
 * own command (`--bootstrap`, no join addresses) on a new address, before the others declared
 * its old instance failed — it rejoins under its name, never starts a cluster of its own.
 */
import { assert, assertEquals, encoder } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";
import { assertHolds, produceAcked } from "./_cluster_io.ts";

const NAMES = ["n1", "n2", "n3"];

Deno.test("cluster: the bootstrap node restarts on a new address and rejoins under its name", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const acked = new Map<number, string>();
    const n2 = cluster.get("n2");
    for (let i = 0; i < 5; i++) {
      acked.set(await n2.client.produce(encoder.encode(`s${i}`)), `s${i}`);
    }
    const old = cluster.get("n1");
    await cluster.stop("n1", "SIGKILL");
    // At once, with the book's command: --bootstrap is a no-op on its state, and it finds the
    // others through the members it remembers (port 0: a new gossip and RPC address).
    const back = await cluster.restart("n1", ["--bootstrap"]);
    assert(back.gossipAddr !== old.gossipAddr, "the restarted node kept its gossip address");
    acked.set(await produceAcked(n2, "while-rejoining"), "while-rejoining");
    await until("n1 listed under its new address on every node", async () => {
      for (const member of cluster.live()) {
        const servers = await member.client.getServers();
        const n1 = servers.find((server) => server.id === "n1");
        if (n1?.rpcAddr !== back.node.rpcAddr) return null;
        if (servers.length !== 3) return null;
      }
      return true;
    }, 20_000);
    const leader = await cluster.waitForVoters(NAMES);
    assert(NAMES.includes(leader), leader);
    // One cluster: n1 did not bootstrap a cluster of its own.
    assert(!back.node.output().includes("bootstrapped a new"), back.node.output());
    acked.set(await produceAcked(back, "via-n1"), "via-n1");
    for (const member of cluster.live()) await assertHolds(member, acked);
    assertEquals(
      (await back.client.getServers()).filter((server) => server.isLeader).length,
      1,
    );
  } finally {
    await cluster.close();
  }
});
