/**
 * The cluster's life cycle under the book's security setup (mutual TLS for clients and peers,
 * the book's ACL, sealed gossip), on one cluster with retention: a graceful leave, a late
 * joiner that starts past retention (the snapshot path over peer TLS), the bootstrap node
 * killed and restarted on a new address, then the whole cluster killed and restarted with the
 * book's commands, the bootstrap node first.
 * (A killed leader and its catch-up: cluster_tls_failover_test.ts.)
 */
import { assert, assertEquals, encoder } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";
import { assertRetained, produceAcked, retainedStart } from "./_cluster_io.ts";
import { secureSetup } from "./_cluster_tls.ts";

/** Small segments and a small byte limit on every node: retention has segments to remove. */
const RETAINING = ["--segment-bytes-max", "1024", "--retention-bytes", "2048"];

Deno.test("cluster under mutual TLS and the ACL: graceful leave, a late joiner past retention, bootstrap-node and whole-cluster restarts", async () => {
  await using secure = await secureSetup();
  const cluster = await TestCluster.start(["n1", "n2", "n3"], {
    prepare: secure.prepare,
    clientOptions: secure.clientOptions,
    extraArgs: RETAINING,
  });
  try {
    const acked = new Map<number, string>();
    const leader = cluster.get((await cluster.leader())!);
    for (let batch = 0; batch < 30; batch++) {
      const values = [0, 1, 2, 3, 4].map((i) => `b${batch}-${i}`.padEnd(100, "."));
      const { offset } = await leader.client.produceBatch(values.map((v) => encoder.encode(v)));
      values.forEach((value, i) => acked.set(offset + i, value));
    }

    // Graceful leave of a follower (not n1: it is restarted as the bootstrap node below).
    const leaver = ["n2", "n3"].find((name) => name !== leader.name)!;
    const stay = ["n1", "n2", "n3"].filter((name) => name !== leaver);
    assertEquals(await cluster.stop(leaver, "SIGTERM"), 0);
    await until(`${leaver} removed`, async () => {
      const ids = (await leader.client.getServers()).map((server) => server.id).sort();
      return JSON.stringify(ids) === JSON.stringify(stay);
    });
    acked.set(await produceAcked(cluster.get(stay[1]!), "after-leave"), "after-leave");

    // A late joiner: the others removed the start of the log, so it is restarted past it.
    const starts = await Promise.all(
      cluster.live().map((member) =>
        until(`${member.name} removing its oldest segments`, async () => {
          const start = await retainedStart(member);
          return start > 0 ? start : null;
        })
      ),
    );
    const lowest = Math.min(...starts);
    const late = await cluster.startMember("n4", ["--start-join-addrs", leader.gossipAddr]);
    await cluster.waitForVoters([...stay, "n4"]);
    const end = acked.size - 1;
    await until("n4 holding the last record", () => late.client.consume(end));
    assert(await retainedStart(late) >= lowest, "n4 holds records the others had removed");

    // The bootstrap node alone killed and restarted with the book's command on a new address:
    // it finds the others through the members it remembers (sealed gossip) and rejoins.
    await cluster.stop("n1", "SIGKILL");
    const n1Back = await cluster.restart("n1", ["--bootstrap"]);
    await until("n1 listed under its new address on every node", async () => {
      for (const member of cluster.live()) {
        const servers = await member.client.getServers();
        const n1 = servers.find((server) => server.id === "n1");
        if (n1?.rpcAddr !== n1Back.node.rpcAddr || servers.length !== 3) return null;
      }
      return true;
    }, 20_000);
    acked.set(await produceAcked(n1Back, "via-n1"), "via-n1");

    // Whole cluster killed, restarted as the book does: n1 keeps --bootstrap (a no-op on its
    // state) and comes back on a new address first; the others join it.
    const members = [...stay, "n4"];
    for (const name of members) await cluster.stop(name, "SIGKILL");
    const n1 = await cluster.restart("n1", ["--bootstrap"]);
    await Promise.all(
      members.filter((name) => name !== "n1").map((name) =>
        cluster.restart(name, ["--start-join-addrs", n1.gossipAddr])
      ),
    );
    await cluster.waitForVoters(members);
    assert(!n1.node.output().includes("bootstrapped a new"), "n1 bootstrapped a second cluster");
    acked.set(await produceAcked(cluster.get("n4"), "after-restart"), "after-restart");
    for (const member of cluster.live()) {
      assert(await assertRetained(member, acked.size - 1, acked) > 0, member.name);
    }
  } finally {
    await cluster.close();
  }
});
