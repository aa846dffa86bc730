import { RaftError, RaftNode } from "../../raft/mod.ts";
import { assert, assertEquals, records } from "./_harness.ts";
import { driverCluster } from "./_fixture.ts";

Deno.test("driver: proposals resolve with dense offsets once committed; followers redirect", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    const results = await Promise.all([
      leader.propose(records("a", "b")),
      leader.propose(records("c")),
      leader.propose(records("d")),
    ]);
    assertEquals(results.map((r) => r.baseOffset), [0, 2, 3]);
    assertEquals(leader.status().appliedNextOffset, 4, "the high watermark follows applies");
    const follower = [...cluster.nodes.values()].find((node) => node !== leader) as RaftNode;
    let error: unknown = null;
    try {
      await follower.propose(records("x"));
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof RaftError && error.code === "NOT_LEADER", `got ${error}`);
    assertEquals(error.leaderHint, leader.id);
  } finally {
    await cluster.close();
  }
});

Deno.test("driver: a follower's read barrier waits until it applied the leader's commit", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    const { index } = await leader.propose(records("x"));
    const follower = [...cluster.nodes.values()].find((node) => node !== leader) as RaftNode;
    const readIndex = await follower.readBarrier();
    assert(readIndex >= index, `read index ${readIndex} covers the append at ${index}`);
    assert(follower.status().appliedIndex >= index, "the follower applied it before answering");
  } finally {
    await cluster.close();
  }
});

Deno.test("driver: closing rejects pending proposals", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    for (const node of cluster.nodes.values()) if (node !== leader) await node.close();
    const pending = leader.propose(records("never"));
    await leader.close();
    let error: unknown = null;
    try {
      await pending;
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof RaftError, `got ${error}`);
  } finally {
    await cluster.close();
  }
});

Deno.test("driver: reportUnreachable acts after the caller returns (a transport calls it inside send)", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    await leader.propose(records("x"));
    const follower = leader.followers().find((each) => each.state === "replicate");
    assert(follower !== undefined, "a follower in the replicate state after a commit");
    leader.reportUnreachable(follower.id);
    // Acting here would re-enter the driver's loop from inside its own send().
    assertEquals(leader.followers().find((each) => each.id === follower.id)?.state, "replicate");
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    assertEquals(leader.followers().find((each) => each.id === follower.id)?.state, "probe");
    assertEquals(leader.stats().unreachableReports, 1);
  } finally {
    await cluster.close();
  }
});
