import { EntryKind } from "../../log/mod.ts";
import { MessageType, type VoteRequest } from "../../raft/mod.ts";
import { assert, assertEquals, records, TestCluster } from "./_harness.ts";

Deno.test("a single node elects itself and commits its no-op", async () => {
  const cluster = new TestCluster(["a"]);
  await cluster.elect("a");
  const status = cluster.core("a").status();
  assertEquals([status.role, status.term, status.commitIndex], ["leader", 1, 1]);
  assertEquals(cluster.node("a").applied.map((e) => e.kind), [EntryKind.Noop]);
});

Deno.test("no election before the timeout", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.tick("a", 9);
  assertEquals(cluster.core("a").status().role, "follower");
  await cluster.tick("a", 1);
  assertEquals(cluster.core("a").status().role, "leader");
});

Deno.test("three nodes elect one leader and every node commits the no-op of its term", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  for (const id of ["a", "b", "c"]) {
    const status = cluster.core(id).status();
    assertEquals([status.leader, status.term, status.commitIndex], ["a", 1, 1], id);
    const noop = cluster.node(id).applied[0];
    assert(noop?.kind === EntryKind.Noop && noop.term === 1, `${id} applied the no-op`);
  }
});

Deno.test("a node grants one vote per term and keeps it across a restart", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { preVote: false, checkQuorum: false });
  const request = (from: string): VoteRequest => ({
    type: MessageType.Vote,
    from,
    to: "b",
    term: 5,
    lastIndex: 0,
    lastTerm: 0,
    transfer: false,
  });
  cluster.core("b").step(request("a"));
  await cluster.flush();
  cluster.node("b").restart();
  cluster.core("b").step(request("c"));
  await cluster.flush();
  const answers = cluster.inbox.filter((m) => m.type === MessageType.VoteResponse);
  assertEquals(answers.map((m) => [m.to, "granted" in m && m.granted]), [["a", true], [
    "c",
    false,
  ]]);
  assertEquals(cluster.core("b").status().term, 5);
});

Deno.test("the vote and the term are persisted in the same Ready as the vote response", () => {
  const cluster = new TestCluster(["a", "b", "c"], { preVote: false });
  const b = cluster.core("b");
  b.step({
    type: MessageType.Vote,
    from: "a",
    to: "b",
    term: 2,
    lastIndex: 0,
    lastTerm: 0,
    transfer: false,
  });
  const ready = b.ready();
  assertEquals([ready.state?.term, ready.state?.vote], [2, "a"]);
  assert(ready.messages.some((m) => m.type === MessageType.VoteResponse));
});

Deno.test("a candidate with a stale log loses (election restriction, §5.4.1)", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { preVote: false, checkQuorum: false });
  await cluster.elect("a");
  cluster.isolate("c");
  cluster.core("a").propose(records("x"));
  await cluster.settle();
  cluster.cuts.clear();
  cluster.isolate("a");
  await cluster.elect("c");
  assert(cluster.core("c").status().role !== "leader", "c must not win with a stale log");
  await cluster.elect("b");
  assertEquals(cluster.core("b").status().role, "leader");
});

Deno.test("pre-vote: a partitioned node does not raise its term or disrupt on return", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.isolate("c");
  await cluster.tick("c", 50);
  assertEquals(cluster.core("c").status().term, 1);
  assertEquals(cluster.core("c").status().role, "preCandidate");
  cluster.cuts.clear();
  await cluster.tickAll(2);
  assertEquals(cluster.core("a").status().role, "leader");
  assertEquals([cluster.core("c").status().term, cluster.core("c").status().leader], [1, "a"]);
});

Deno.test("without pre-vote the returning node does raise its term (what pre-vote prevents)", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { preVote: false, checkQuorum: false });
  await cluster.elect("a");
  cluster.isolate("c");
  await cluster.tick("c", 30);
  assert(cluster.core("c").status().term > 1);
});

Deno.test("check-quorum: a leader cut off from its quorum steps down", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.isolate("a");
  await cluster.tick("a", 10);
  assertEquals(cluster.core("a").status().role, "leader");
  await cluster.tick("a", 10);
  assertEquals(cluster.core("a").status().role, "follower");
});

Deno.test("leader lease: a follower that hears from its leader ignores a higher-term vote", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.core("b").step({
    type: MessageType.Vote,
    from: "c",
    to: "b",
    term: 7,
    lastIndex: 10,
    lastTerm: 5,
    transfer: false,
  });
  assertEquals(cluster.core("b").status().term, 1);
  assert(!cluster.core("b").hasReady(), "the request is dropped without an answer");
});

Deno.test("a higher term in any message turns a leader into a follower", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.core("a").step({
    type: MessageType.HeartbeatResponse,
    from: "b",
    to: "a",
    term: 9,
    readSeq: 0,
  });
  const status = cluster.core("a").status();
  assertEquals([status.role, status.term, status.leader], ["follower", 9, null]);
});

Deno.test("a campaign asks again, each heartbeat, the voters that have not answered", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.isolate("a"); // the leader is gone; c still holds its lease, b does not
  await cluster.tick("b", 10);
  assertEquals(cluster.core("b").status().role, "preCandidate", "c ignored the pre-vote");
  await cluster.tick("c", 8); // c's lease (election timeout - 2 ticks) runs out
  await cluster.tick("b", 1);
  // Elected one tick after the lease ended, not a whole election timeout later.
  const status = cluster.core("b").status();
  assertEquals([status.role, status.term], ["leader", 2]);
});

Deno.test("a campaign does not ask again a voter that already answered", async () => {
  const cluster = new TestCluster(["a", "b", "c", "d", "e"]);
  await cluster.elect("a");
  cluster.isolate("a");
  cluster.isolate("e");
  await cluster.tick("b", 10); // c and d hold their lease: only b itself is for b
  await cluster.tick("c", 8);
  await cluster.tick("b", 1); // c answers this time, d still ignores it
  assertEquals(cluster.core("b").status().role, "preCandidate");
  cluster.core("b").tick();
  await cluster.flush();
  const asked = cluster.inbox.filter((m) => m.type === MessageType.PreVote).map((m) => m.to);
  assertEquals(asked.sort(), ["a", "d", "e"]);
});
