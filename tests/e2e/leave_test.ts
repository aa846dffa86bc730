/**
 * Graceful leave (SIGTERM) of real `serve` processes in the shapes that once could strand a
 * cluster: the only voter with a learner behind it, and both members of a two-voter cluster.
 * Each time the remaining node must lead a configuration without the leaver, take writes, and
 * hold every acknowledged record.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { loggedMembership, TestCluster, until } from "./_cluster.ts";
import { assertHolds, produceAcked } from "./_cluster_io.ts";

Deno.test("leave: the only voter hands over to its learner; two voters survive either one leaving", async () => {
  const cluster = await TestCluster.start(["n1"]);
  try {
    const acked = new Map<number, string>();
    for (const value of ["a", "b"]) acked.set(await produceAcked(cluster.get("n1"), value), value);

    // n2 joins; n1 is stopped as soon as n2 is a member (a learner, or just promoted).
    await cluster.startMember("n2", ["--start-join-addrs", cluster.get("n1").gossipAddr]);
    await until("n2 added", () => {
      const logged = loggedMembership(cluster.get("n1").node);
      return logged !== null && [...logged.voters, ...logged.learners].includes("n2");
    });
    const n1 = cluster.get("n1").node;
    assertEquals(await cluster.stop("n1", "SIGTERM"), 0);
    assert(!n1.output().includes("only voter"), n1.output());
    assert(n1.output().includes("removed this node from the configuration"), n1.output());
    assertEquals(await cluster.waitForVoters(["n2"]), "n2");
    acked.set(await produceAcked(cluster.get("n2"), "c"), "c");
    await assertHolds(cluster.get("n2"), acked);

    // Two voters, the follower leaves.
    await cluster.startMember("n3", ["--start-join-addrs", cluster.get("n2").gossipAddr]);
    const leader = await cluster.waitForVoters(["n2", "n3"]);
    const follower = leader === "n2" ? "n3" : "n2";
    assertEquals(await cluster.stop(follower, "SIGTERM"), 0);
    assertEquals(await cluster.waitForVoters([leader]), leader);
    acked.set(await produceAcked(cluster.get(leader), "d"), "d");

    // Two voters, the leader leaves.
    await cluster.startMember("n4", ["--start-join-addrs", cluster.get(leader).gossipAddr]);
    const leaving = await cluster.waitForVoters([leader, "n4"]);
    const stays = leaving === "n4" ? leader : "n4";
    assertEquals(await cluster.stop(leaving, "SIGTERM"), 0);
    assertEquals(await cluster.waitForVoters([stays]), stays);
    acked.set(await produceAcked(cluster.get(stays), "e"), "e");
    await assertHolds(cluster.get(stays), acked);
  } finally {
    await cluster.close();
  }
});
