/**
 * Five processes with the book's flags: one leader, replication to all, no election cycle
 * while idle, and a SIGKILL of the leader survived with every acknowledged record.
 */
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";
import { assertHolds, leaderChanges, produceAcked } from "./_cluster_io.ts";

const NAMES = ["n1", "n2", "n3", "n4", "n5"];

Deno.test("cluster: five nodes agree on one leader, replicate, stay quiet idle and survive a leader kill", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const leader = (await cluster.leader())!;
    for (const member of cluster.live()) {
      const servers = await member.client.getServers();
      assertEquals(servers.map((server) => server.id).sort(), NAMES, member.name);
      assertEquals(servers.filter((s) => s.isLeader).map((s) => s.id), [leader], member.name);
    }
    const acked = new Map<number, string>();
    for (const member of cluster.live()) {
      acked.set(
        await member.client.produce(encoder.encode(`v-${member.name}`)),
        `v-${member.name}`,
      );
    }
    for (const member of cluster.live()) {
      const last = await member.client.consume(acked.size - 1);
      assertEquals(decoder.decode(last.value), acked.get(acked.size - 1), member.name);
    }
    const before = cluster.live().map(leaderChanges);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assertEquals(cluster.live().map(leaderChanges), before, "leader changes while idle");

    await cluster.stop(leader, "SIGKILL");
    const survivors = cluster.live();
    for (let i = 0; i < 4; i++) {
      acked.set(await produceAcked(survivors[i]!, `after-${i}`), `after-${i}`);
    }
    const next = await until("a new leader", () => cluster.leader());
    assert(next !== leader, "the killed leader is still reported");
    for (const member of survivors) await assertHolds(member, acked);
  } finally {
    await cluster.close();
  }
});
