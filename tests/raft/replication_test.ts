import { type Entry, EntryKind } from "../../log/mod.ts";
import { type AppendResponse, type Message, MessageType } from "../../raft/mod.ts";
import {
  appliedValues,
  assert,
  assertEquals,
  assertThrowsCode,
  records,
  TestCluster,
} from "./_harness.ts";

function entry(index: number, term: number, baseOffset: number, ...values: string[]): Entry {
  return {
    index,
    term,
    kind: values.length > 0 ? EntryKind.Records : EntryKind.Noop,
    baseOffset,
    records: records(...values),
    data: new Uint8Array(0),
  };
}

Deno.test("proposals replicate, commit and apply on every node with dense offsets", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  const first = cluster.core("a").propose(records("x", "y"));
  const second = cluster.core("a").propose(records("z"));
  assertEquals([first.baseOffset, second.baseOffset], [0, 2]);
  await cluster.settle();
  for (const id of ["a", "b", "c"]) {
    assertEquals(appliedValues(cluster.node(id)), ["x", "y", "z"], id);
    assertEquals(cluster.node(id).store.nextOffset(), 3, id);
  }
});

Deno.test("a follower refuses proposals and names the leader", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  const error = assertThrowsCode(() => cluster.core("b").propose(records("x")), "NOT_LEADER");
  assertEquals((error as unknown as { leaderHint: string }).leaderHint, "a");
});

Deno.test("a follower acknowledges only in the Ready that persists the entries", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.core("a").propose(records("x"));
  const ready = cluster.core("a").ready();
  const append = ready.messages.find((m) => m.type === MessageType.Append && m.to === "b");
  assert(append !== undefined);
  assertEquals(ready.persist.entries.map((e) => e.index), [2], "the leader persists too");
  cluster.core("b").step(append);
  const followerReady = cluster.core("b").ready();
  assertEquals(followerReady.persist.entries.map((e) => e.index), [2]);
  const ack = followerReady.messages[0] as AppendResponse;
  assertEquals([ack.type, ack.success, ack.index], [MessageType.AppendResponse, true, 2]);
});

Deno.test("a follower rejects a gap with hints, and the leader backs up in one step", () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  const b = cluster.core("b");
  b.step({
    type: MessageType.Append,
    from: "a",
    to: "b",
    term: 1,
    prevIndex: 5,
    prevTerm: 1,
    entries: [],
    commit: 0,
  });
  const reply = b.ready().messages[0] as AppendResponse;
  assertEquals([reply.success, reply.index, reply.conflictTerm, reply.conflictIndex], [
    false,
    5,
    0,
    1,
  ]);
});

Deno.test("conflict hints name the first index of the conflicting term", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  const b = cluster.node("b");
  await b.store.appendEntries([entry(1, 1, 0, "p"), entry(2, 2, 1, "q"), entry(3, 2, 2, "r")]);
  b.restart();
  b.core.step({
    type: MessageType.Append,
    from: "a",
    to: "b",
    term: 3,
    prevIndex: 3,
    prevTerm: 3,
    entries: [],
    commit: 0,
  });
  const reply = b.core.ready().messages[0] as AppendResponse;
  assertEquals([reply.success, reply.conflictTerm, reply.conflictIndex], [false, 2, 2]);
});

Deno.test("a new leader overwrites a follower's conflicting uncommitted suffix", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { preVote: false, checkQuorum: false });
  await cluster.elect("a");
  cluster.isolate("a");
  cluster.core("a").propose(records("lost1"));
  cluster.core("a").propose(records("lost2"));
  await cluster.settle();
  await cluster.elect("b");
  cluster.core("b").propose(records("kept"));
  await cluster.settle();
  cluster.cuts.clear();
  await cluster.tickAll(1);
  const a = cluster.node("a");
  assertEquals(a.core.status().leader, "b");
  assertEquals(appliedValues(a), ["kept"]);
  assertEquals(a.store.lastIndex(), cluster.node("b").store.lastIndex());
  assertEquals(a.store.nextOffset(), 1, "the truncated records' offsets were rolled back");
});

Deno.test("commit rule: an entry of an older term is not committed by counting replicas", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { preVote: false, checkQuorum: false });
  const a = cluster.node("a");
  // a holds index 1 from term 1 (never committed) and saved term 2.
  await a.store.appendEntries([entry(1, 1, 0, "old")]);
  a.meta = new TextEncoder().encode(
    JSON.stringify({
      term: 2,
      vote: null,
      configs: [{ index: 0, term: 0, membership: { voters: ["a", "b", "c"], learners: [] } }],
    }),
  );
  a.restart();
  cluster.isolate("c");
  for (let i = 0; i < 10; i++) a.core.tick();
  await cluster.flush(); // a's vote requests
  for (const message of cluster.inbox.splice(0)) cluster.deliver(message);
  await cluster.flush(); // b's vote
  for (const message of cluster.inbox.splice(0)) cluster.deliver(message);
  await cluster.flush(); // a leads; its appends stay undelivered
  cluster.inbox = [];
  assertEquals([a.core.status().role, a.core.status().term], ["leader", 3]);
  // b acknowledges index 1 only (the old-term entry): nothing may commit yet.
  a.core.step({
    type: MessageType.AppendResponse,
    from: "b",
    to: "a",
    term: 3,
    success: true,
    index: 1,
    conflictTerm: 0,
    conflictIndex: 0,
  });
  assertEquals(a.core.status().commitIndex, 0);
  a.core.step({
    type: MessageType.AppendResponse,
    from: "b",
    to: "a",
    term: 3,
    success: true,
    index: 2,
    conflictTerm: 0,
    conflictIndex: 0,
  });
  assertEquals(a.core.status().commitIndex, 2, "the no-op of term 3 commits both");
});

Deno.test("pipelining stops at the in-flight message bound", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { inflightMessagesMax: 2 });
  await cluster.elect("a");
  cluster.isolate("b");
  const a = cluster.core("a");
  for (let i = 0; i < 5; i++) a.propose(records(`v${i}`));
  const sent: Message[] = [];
  for (let round = 0; round < 10 && a.hasReady(); round++) {
    const ready = a.ready();
    sent.push(...ready.messages);
    a.advance(ready);
  }
  const toB = sent.filter((m) => m.type === MessageType.Append && m.to === "b");
  assertEquals(toB.length, 2);
});

Deno.test("a lagging follower catches up after a partition heals", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.isolate("c");
  for (let i = 0; i < 20; i++) cluster.core("a").propose(records(`v${i}`));
  await cluster.settle();
  cluster.cuts.clear();
  await cluster.tickAll(2);
  assertEquals(appliedValues(cluster.node("c")).length, 20);
});

Deno.test("the leader refuses proposals past the uncommitted bound", async () => {
  const cluster = new TestCluster(["a", "b", "c"], { uncommittedEntriesMax: 3 });
  await cluster.elect("a");
  cluster.isolate("a");
  cluster.core("a").propose(records("1"));
  cluster.core("a").propose(records("2"));
  cluster.core("a").propose(records("3"));
  assertThrowsCode(() => cluster.core("a").propose(records("4")), "OVERLOADED");
});

Deno.test("a restarted follower keeps its log and rejoins at the same offsets", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  cluster.core("a").propose(records("x"));
  await cluster.settle();
  cluster.node("b").restart();
  cluster.core("a").propose(records("y"));
  await cluster.settle();
  await cluster.tickAll(1);
  assertEquals(appliedValues(cluster.node("b")), ["x", "y"]);
  assertEquals(cluster.core("b").status().term, 1);
});

Deno.test("a conflict arriving while a write is in flight truncates it in the next Ready", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  const b = cluster.node("b");
  const append = (term: number, entries: Entry[]) =>
    b.core.step({
      type: MessageType.Append,
      from: term === 1 ? "a" : "c",
      to: "b",
      term,
      prevIndex: 0,
      prevTerm: 0,
      entries,
      commit: 0,
    });
  append(1, [entry(1, 1, 0, "old1"), entry(2, 1, 1, "old2")]);
  const first = b.core.ready(); // in flight: not yet persisted, not advanced
  assertEquals(first.persist.entries.map((e) => e.index), [1, 2]);
  append(2, [entry(1, 1, 0, "old1"), entry(2, 2, 1, "new2"), entry(3, 2, 2, "new3")]);
  await b.persist(first);
  b.core.advance(first);
  const second = b.core.ready();
  assertEquals(second.persist.truncateFrom, 2);
  assertEquals(second.persist.entries.map((e) => [e.index, e.term]), [[2, 2], [3, 2]]);
  await b.persist(second);
  b.core.advance(second);
  assertEquals([b.store.lastIndex(), b.store.termAt(2), b.store.nextOffset()], [3, 2, 3]);
  assertEquals(b.core.termAt(2), 2);
});
