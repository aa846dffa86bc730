/**
 * What replicating a batch costs the leader and its followers: commit-only appends only to
 * followers with nothing in flight, and the recent-entry window letting go of entries that
 * are applied and held by every follower (reading back from the store otherwise).
 */
import { EntryKind, MemoryLog } from "../../log/mod.ts";
import { type AppendRequest, type Message, MessageType } from "../../raft/mod.ts";
import { RaftLog, RECENT_RELEASED_BYTES_MAX } from "../../raft/_raft_log.ts";
import { appliedValues, assert, assertEquals, records, TestCluster } from "./_harness.ts";

function takeInbox(cluster: TestCluster, keep: (m: Message) => boolean): Message[] {
  const taken = cluster.inbox.filter(keep);
  cluster.inbox = cluster.inbox.filter((m) => !keep(m));
  return taken;
}

const isAppend = (m: Message): m is AppendRequest => m.type === MessageType.Append;

Deno.test("a commit reaches a follower with appends in flight in its next append, not an empty one", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  const a = cluster.core("a");
  const first = a.propose(records("v1"));
  const second = a.propose(records("v2"));
  await cluster.flush();
  const appends = takeInbox(cluster, () => true).filter(isAppend);
  assertEquals(appends.map((m) => [m.to, m.entries.length]), [["b", 1], ["c", 1], ["b", 1], [
    "c",
    1,
  ]]);
  // b gets both and acknowledges each; c's stay in flight.
  for (const m of appends.filter((m) => m.to === "b")) cluster.deliver(m);
  const held = appends.filter((m) => m.to === "c");
  await cluster.flush();
  const acks = takeInbox(cluster, (m) => m.type === MessageType.AppendResponse);
  assertEquals(acks.length, 2);
  cluster.deliver(acks[0]!);
  await cluster.flush();
  assertEquals(a.status().commitIndex, first.index);
  assertEquals(
    cluster.inbox.filter(isAppend).length,
    0,
    "b and c both have appends in flight: the commit waits for their answers",
  );
  cluster.deliver(acks[1]!);
  await cluster.flush();
  assertEquals(a.status().commitIndex, second.index);
  const commits = takeInbox(cluster, isAppend) as AppendRequest[];
  assertEquals(
    commits.map((m) => [m.to, m.entries.length, m.commit]),
    [["b", 0, second.index]],
    "b has nothing in flight any more: an empty append tells it the commit",
  );
  for (const m of [...commits, ...held]) cluster.deliver(m);
  await cluster.settle();
  for (const id of ["b", "c"]) assertEquals(appliedValues(cluster.node(id)), ["v1", "v2"], id);
});

/** A RaftLog over a store that counts reads of entries, with `count` durable 64 KiB entries. */
async function durableLog(count: number) {
  const store = new MemoryLog({ recordBytesMax: 1 << 20, batchBytesMax: 1 << 20 });
  let reads = 0;
  const read = store.entries.bind(store);
  store.entries = (from, to, bytesMax) => {
    reads++;
    return read(from, to, bytesMax);
  };
  const log = new RaftLog(store);
  for (let index = 1; index <= count; index++) {
    log.append([{
      term: 1,
      index,
      kind: EntryKind.Records,
      baseOffset: index - 1,
      records: [new Uint8Array(64 << 10).fill(index)],
      data: new Uint8Array(0),
    }]);
  }
  await store.appendEntries(log.takePersist().entries);
  log.stableTo(count);
  log.committed = count;
  return { log, reads: () => reads };
}

Deno.test("recent window: applied entries no follower needs are read from the store again", async () => {
  const count = 2 + Math.ceil(RECENT_RELEASED_BYTES_MAX / (64 << 10));
  const { log, reads } = await durableLog(count);
  log.applied = count;
  const first = log.entries(1, 2, Infinity)[0]!;
  assertEquals(first.records[0]![0], 1);
  assert(reads() > 0, "the oldest applied entry should have left memory");
  const before = reads();
  log.entries(count, count + 1, Infinity);
  assertEquals(reads(), before, "the newest entry stays in memory");
});

Deno.test("recent window: entries not applied, or that a follower lacks, stay in memory", async () => {
  const count = 2 + Math.ceil(RECENT_RELEASED_BYTES_MAX / (64 << 10));
  const unapplied = await durableLog(count);
  unapplied.log.entries(1, count + 1, Infinity);
  assertEquals(unapplied.reads(), 0, "unapplied entries were read from the store");
  const lacking = await durableLog(count);
  lacking.log.retainFrom(1);
  lacking.log.applied = count;
  lacking.log.entries(1, count + 1, Infinity);
  assertEquals(lacking.reads(), 0, "entries a follower lacks were read from the store");
  lacking.log.retainFrom(null);
  lacking.log.entries(1, 2, Infinity);
  assert(lacking.reads() > 0, "released once the follower holds them");
});

Deno.test("a leader resends to a lagging follower from memory while it lacks the entries", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  const store = cluster.node("a").store;
  let reads = 0;
  const read = store.entries.bind(store);
  store.entries = (from, to, bytesMax) => {
    reads++;
    return read(from, to, bytesMax);
  };
  cluster.isolate("c");
  const value = "x".repeat(32 << 10);
  for (let i = 0; i < 8; i++) cluster.core("a").propose(records(value));
  await cluster.settle();
  assertEquals(appliedValues(cluster.node("a")).length, 8, "a and b commit without c");
  cluster.cuts.clear();
  await cluster.tickAll(2);
  assertEquals(appliedValues(cluster.node("c")).length, 8);
  assertEquals(reads, 0, "the leader read entries c lacked back from the store");
});

Deno.test("a leader lets go of entries every follower holds and it applied", async () => {
  const cluster = new TestCluster(["a", "b", "c"]);
  await cluster.elect("a");
  const value = "x".repeat(32 << 10);
  const count = 2 + Math.ceil(RECENT_RELEASED_BYTES_MAX / (32 << 10));
  for (let i = 0; i < count; i++) cluster.core("a").propose(records(value));
  await cluster.settle();
  const store = cluster.node("a").store;
  let reads = 0;
  const read = store.entries.bind(store);
  store.entries = (from, to, bytesMax) => {
    reads++;
    return read(from, to, bytesMax);
  };
  cluster.core("a").entries(2, 3);
  assert(reads > 0, "the leader kept entries every follower holds in memory");
});
