/**
 * The driver under faults: crashes inside InstallSnapshot, restarts with reads in flight,
 * hostile messages, a send that throws, a stalled disk, lost quorum, weaker durability.
 */
import {
  type Entry,
  EntryKind,
  type EntryStore,
  MemoryLog,
  type MetaStore,
} from "../../log/mod.ts";
import {
  decodePersistentState,
  ENTRY_BYTES_MAX,
  FRAME_BYTES_MAX,
  type Message,
  MessageType,
  RaftCore,
  RaftError,
  RaftNode,
} from "../../raft/mod.ts";
import { assert, assertEquals, fixedRandom, records, TestCluster } from "./_harness.ts";
import { driverCluster, firstAppend, MemoryMeta, quiet, rejection, until } from "./_fixture.ts";

const HOUR_MS = 3_600_000;

/**
 * Storage that "crashes" at its `budget`-th write: that write and every later one throws
 * without taking effect (the process died there). Reads pass through.
 */
class CrashingStorage {
  writes = 0;
  crashed = false;
  constructor(readonly log: MemoryLog, readonly meta: MemoryMeta, public budget: number) {}

  #write<T>(run: () => Promise<T>): Promise<T> {
    if (this.crashed || this.writes >= this.budget) {
      this.crashed = true;
      return Promise.reject(new Error("crash"));
    }
    this.writes++;
    return run();
  }

  store(): EntryStore {
    const log = this.log;
    return {
      firstIndex: () => log.firstIndex(),
      lastIndex: () => log.lastIndex(),
      nextOffset: () => log.nextOffset(),
      termAt: (index) => log.termAt(index),
      entries: (from, to, bytesMax) => log.entries(from, to, bytesMax),
      appendEntries: (entries) => this.#write(() => log.appendEntries(entries)),
      truncateSuffix: (from) => this.#write(() => log.truncateSuffix(from)),
      deletePrefix: (before) => this.#write(() => log.deletePrefix(before)),
      restartAt: (i, t, o) => this.#write(() => log.restartAt(i, t, o)),
      close: () => log.close(),
    };
  }

  metaStore(): MetaStore {
    return {
      load: () => this.meta.load(),
      save: (bytes) => this.#write(() => this.meta.save(bytes)),
    };
  }
}

const FIVE = { voters: ["a", "b", "c", "d", "e"], learners: [] };
const THREE = { voters: ["a", "b", "c"], learners: [] };

/** Node c of a 5-node cluster, with entries 1..3 of term 1: it will be sent a snapshot. */
async function laggingFollower(): Promise<{ log: MemoryLog; meta: MemoryMeta }> {
  const log = new MemoryLog();
  const entries: Entry[] = [1, 2, 3].map((index) => ({
    term: 1,
    index,
    kind: EntryKind.Records,
    baseOffset: index - 1,
    records: records("x"),
    data: new Uint8Array(),
  }));
  await log.appendEntries(entries);
  const meta = new MemoryMeta();
  const state = { term: 1, vote: null, configs: [{ index: 0, term: 0, membership: FIVE }] };
  meta.bytes = new TextEncoder().encode(JSON.stringify(state));
  return { log, meta };
}

/** The leader (term 5) of the 3-node configuration that removed d and e at index 15. */
const SNAPSHOT: Message = {
  type: MessageType.InstallSnapshot,
  from: "a",
  to: "c",
  term: 5,
  index: 20,
  snapshotTerm: 4,
  nextOffset: 100,
  configIndex: 15,
  config: THREE,
};

/** Drives a reopened node's core directly: can the removed d and e elect it? */
function electableByRemoved(log: MemoryLog, meta: MemoryMeta): boolean {
  const core = new RaftCore({
    id: "c",
    store: log,
    random: fixedRandom,
    persisted: decodePersistentState(meta.load() as Uint8Array),
  });
  for (let tick = 0; tick < 40 && core.status().role !== "leader"; tick++) {
    core.tick();
    const ready = core.ready();
    for (const m of ready.messages) {
      if (m.type !== MessageType.PreVote && m.type !== MessageType.Vote) continue;
      const type = m.type === MessageType.PreVote
        ? MessageType.PreVoteResponse
        : MessageType.VoteResponse;
      // Only the removed nodes answer (with their stale logs they would grant).
      for (const from of ["d", "e"]) {
        core.step({ type, from, to: "c", term: m.term, granted: true });
      }
    }
    core.advance(ready);
  }
  return core.status().role === "leader";
}

Deno.test("driver: a crash at any step of InstallSnapshot leaves configuration, term and log consistent", async () => {
  let completed = false;
  for (let budget = 0; budget < 6 && !completed; budget++) {
    const { log, meta } = await laggingFollower();
    const storage = new CrashingStorage(log, meta, budget);
    const sent: Message[] = [];
    const node = new RaftNode({
      id: "c",
      store: storage.store(),
      meta: storage.metaStore(),
      send: (m) => sent.push(m),
      tickMs: HOUR_MS,
      logger: quiet,
    });
    node.step(SNAPSHOT);
    await until(
      () => storage.crashed || sent.some((m) => m.type === MessageType.AppendResponse),
      `budget ${budget}: the snapshot step to crash or finish`,
    );
    completed = !storage.crashed;
    await node.close();

    // Restart on what survived.
    const reopened = new RaftNode({
      id: "c",
      store: log,
      meta,
      send: () => {},
      tickMs: HOUR_MS,
      logger: quiet,
    });
    const status = reopened.status();
    const saved = decodePersistentState(meta.load() as Uint8Array);
    if (saved.term === 5) {
      // The snapshot's state was saved: the log must end up restarted under its config.
      await until(() => log.firstIndex() === 21, `budget ${budget}: the restart to be redone`);
      assertEquals(status.membership, THREE, `budget ${budget}: membership`);
      assertEquals(reopened.status().appliedNextOffset, 100, `budget ${budget}: high watermark`);
    } else {
      assertEquals(log.firstIndex(), 1, `budget ${budget}: the log restarted without its state`);
      assertEquals(status.membership, FIVE, `budget ${budget}: membership`);
    }
    await reopened.close();
    if (log.firstIndex() === 21) {
      assert(!electableByRemoved(log, meta), `budget ${budget}: removed nodes elected c`);
    }
  }
  assert(completed, "the snapshot step never completed without a crash");
});

/** A follower of leader `a` in term 1 whose outgoing messages the test sees. */
function follower(log: MemoryLog, meta: MemoryMeta, sent: Message[]): RaftNode {
  const node = new RaftNode({
    id: "b",
    store: log,
    meta,
    bootstrap: THREE,
    send: (m) => sent.push(m),
    tickMs: HOUR_MS,
    logger: quiet,
  });
  node.step({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1, commit: 0, readSeq: 0 });
  return node;
}

/** Steps a heartbeat and waits for its answer: everything stepped before it was handled. */
async function roundTrip(node: RaftNode, sent: Message[]): Promise<void> {
  const before = sent.filter((m) => m.type === MessageType.HeartbeatResponse).length;
  node.step({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1, commit: 0, readSeq: 0 });
  await until(
    () => sent.filter((m) => m.type === MessageType.HeartbeatResponse).length > before,
    "the heartbeat answer",
  );
}

Deno.test("driver: a read answer meant for an earlier process or another request completes nothing", async () => {
  const log = new MemoryLog();
  const meta = new MemoryMeta();
  const sent: Message[] = [];
  const first = follower(log, meta, sent);
  await roundTrip(first, sent);
  first.readBarrier().catch(() => {});
  await until(() => sent.some((m) => m.type === MessageType.ReadIndex), "the first forwarded read");
  await first.close();
  const oldId = (sent.find((m) => m.type === MessageType.ReadIndex) as { readId: string }).readId;

  sent.length = 0;
  const second = follower(log, meta, sent);
  try {
    await roundTrip(second, sent);
    let resolved: number | null = null;
    const read = second.readBarrier().then((index) => (resolved = index));
    read.catch(() => {}); // awaited below; a failed assertion closes the node first
    await until(() => sent.some((m) => m.type === MessageType.ReadIndex), "the second read");
    const newId = (sent.find((m) => m.type === MessageType.ReadIndex) as { readId: string }).readId;
    assert(newId !== oldId, `read id ${newId} repeats across restarts`);
    const answer = { type: MessageType.ReadIndexResponse, to: "b", index: 0 } as const;
    second.step({ ...answer, from: "a", term: 1, readId: oldId }); // the earlier process's
    second.step({ ...answer, from: "c", term: 1, readId: newId }); // not the leader asked
    // A later read, answered by the leader: reads complete in the order their answers are
    // accepted, so once it completed, a wrongly accepted earlier answer would have too.
    const readIds = () =>
      sent.filter((m) => m.type === MessageType.ReadIndex).map((m) =>
        (m as { readId: string }).readId
      );
    const later = second.readBarrier();
    await until(() => readIds().length === 2, "the later read");
    second.step({ ...answer, from: "a", term: 1, readId: readIds()[1] as string });
    await later;
    assertEquals(resolved, null, "a stale or foreign answer completed the read");
    second.step({ ...answer, from: "a", term: 1, readId: newId });
    await read;
    assertEquals(resolved, 0);
  } finally {
    await second.close();
  }
});

Deno.test("driver: a malformed message is dropped and counted; a failing send does not stop the node", async () => {
  const log = new MemoryLog();
  const sent: Message[] = [];
  let failSends = false;
  const node = new RaftNode({
    id: "b",
    store: log,
    meta: new MemoryMeta(),
    bootstrap: THREE,
    send: (m) => {
      if (failSends) throw new Error("cannot encode");
      sent.push(m);
    },
    tickMs: HOUR_MS,
    logger: quiet,
  });
  try {
    await roundTrip(node, sent);
    const entry = (index: number, kind: EntryKind, data: Uint8Array): Entry => ({
      term: 1,
      index,
      kind,
      baseOffset: 0,
      records: [],
      data,
    });
    const append = { type: MessageType.Append, from: "a", to: "b", term: 1, prevIndex: 0 } as const;
    const garbage = new TextEncoder().encode("{not json");
    // An undecodable configuration, then entries that do not continue prevIndex.
    node.step({
      ...append,
      prevTerm: 0,
      commit: 0,
      entries: [entry(1, EntryKind.Config, garbage)],
    });
    node.step({ ...append, prevTerm: 0, commit: 0, entries: [entry(5, EntryKind.Noop, garbage)] });
    await roundTrip(node, sent);
    assertEquals(node.stats().droppedMessages, 2);
    assertEquals(node.status().lastIndex, 0, "nothing of the bad messages reached the log");

    failSends = true;
    node.step({ type: MessageType.Heartbeat, from: "a", to: "b", term: 1, commit: 0, readSeq: 0 });
    await until(() => node.stats().sendErrors > 0, "the failing send");
    failSends = false;
    await roundTrip(node, sent); // still alive and answering
    const refused = await rejection(node.propose(records("x")));
    assertEquals(refused.code, "NOT_LEADER", "the node is up, not failed");
  } finally {
    await node.close();
  }
});

/** A store whose appends wait while `stalled` (a slow fsync). */
class StallingStore extends MemoryLog {
  stalled = false;
  #release = Promise.withResolvers<void>();
  override async appendEntries(entries: readonly Entry[]): Promise<void> {
    if (this.stalled) await this.#release.promise;
    return super.appendEntries(entries);
  }
  release(): void {
    this.stalled = false;
    this.#release.resolve();
  }
}

Deno.test("driver: a leader whose disk stalls keeps its followers and commits once it resumes", async () => {
  const stores = new Map<string, StallingStore>();
  const net = driverCluster({
    store: (id) => {
      const store = new StallingStore();
      stores.set(id, store);
      return store;
    },
    extra: () => ({ logger: quiet }),
  });
  try {
    const leader = await net.leader();
    await leader.propose(records("before"));
    const { term } = leader.status();
    const store = stores.get(leader.id) as StallingStore;
    store.stalled = true;
    const during = leader.propose(records("during"));
    const start = net.delivered.length;
    const heartbeats = () =>
      net.delivered.slice(start).filter((m) => m.type === MessageType.Heartbeat).length;
    // 60 heartbeat rounds of 5 ms are 300 ms: well past the 50–100 ms election timeout.
    await until(
      () => heartbeats() >= 120 || [...net.nodes.values()].some((n) => n.status().term > term),
      "heartbeats during the stall",
    );
    const terms = [...net.nodes.values()].map((n) => n.status().term);
    assertEquals(terms, [term, term, term], "a follower started an election during the stall");
    store.release();
    const committed = await during;
    assertEquals(committed.baseOffset, 1);
    assertEquals(leader.status().role, "leader");
  } finally {
    for (const store of stores.values()) store.release();
    await net.close();
  }
});

Deno.test("driver: a proposal that times out reports an unknown outcome, not a failure", async () => {
  const net = driverCluster({ extra: () => ({ requestTimeoutMs: 300, logger: quiet }) });
  try {
    const leader = await net.leader();
    const follower = [...net.nodes.values()].find((n) => n !== leader) as RaftNode;
    await until(() => follower.status().leader === leader.id, "the follower to know the leader");
    assertEquals((await rejection(follower.propose(records("x")))).code, "NOT_LEADER");
    net.cut.add(leader.id);
    assertEquals((await rejection(leader.propose(records("y")))).code, "UNKNOWN_OUTCOME");
    const pending = rejection(leader.propose(records("z")));
    await leader.close();
    const stopped = await pending;
    assert(
      stopped.code === "UNKNOWN_OUTCOME" || stopped.code === "NO_LEADER" ||
        stopped.code === "NOT_LEADER",
      `got ${stopped.code}`,
    );
  } finally {
    await net.close();
  }
});

Deno.test("driver: after its storage failed, a node refuses every request with STORAGE_FAILED and its cause", async () => {
  const storage = new CrashingStorage(new MemoryLog(), new MemoryMeta(), Infinity);
  const errors: string[] = [];
  const node = new RaftNode({
    id: "a",
    store: storage.store(),
    meta: storage.metaStore(),
    bootstrap: { voters: ["a"], learners: [] },
    send: () => {},
    tickMs: 5,
    requestTimeoutMs: 300,
    logger: { warn: () => {}, error: (message: string) => errors.push(message) },
  });
  try {
    await until(() => node.status().role === "leader", "a to lead");
    await node.propose(records("before"));
    storage.budget = storage.writes; // the next write fails: the disk is gone
    // The write this proposal needs fails: its outcome is unknown (the node stops before it).
    assertEquals((await rejection(node.propose(records("lost")))).code, "UNKNOWN_OUTCOME");
    assert(storage.crashed, "the storage never failed");
    assertEquals(errors.length, 1, `logged: ${errors}`);
    assert(errors[0]?.includes("storage failed (crash)"), errors[0]);

    for (
      const request of [
        () => node.propose(records("after")),
        () => node.changeMembership({ type: "addLearner", id: "b" }),
        () => node.readBarrier(),
      ]
    ) {
      const refused = await rejection(request());
      assertEquals(refused.code, "STORAGE_FAILED");
      assert(refused.cause instanceof Error && refused.cause.message === "crash", "cause kept");
      assert(/storage failed.*another node.*restart/.test(refused.message), refused.message);
    }
    let transfer: unknown = null;
    try {
      node.transferLeadership("b");
    } catch (error) {
      transfer = error;
    }
    assert(transfer instanceof RaftError && transfer.code === "STORAGE_FAILED", `${transfer}`);
    // It must not point clients at itself: it knows no leader any more.
    assertEquals(node.status().leader, null, "a failed node still names a leader");
  } finally {
    await node.close();
  }
});

Deno.test("driver: a node told its store does not sync says so at start and in status", async () => {
  const warnings: string[] = [];
  const options = {
    id: "a",
    store: new MemoryLog(),
    meta: new MemoryMeta(),
    bootstrap: { voters: ["a"], learners: [] },
    send: () => {},
    tickMs: HOUR_MS,
    logger: { warn: (message: string) => warnings.push(message), error: () => {} },
  };
  const synced = new RaftNode(options);
  assertEquals(synced.status().durability, "fsync");
  assertEquals(warnings.length, 0);
  await synced.close();
  const unsynced = new RaftNode({ ...options, durability: "none" });
  assertEquals(unsynced.status().durability, "none");
  assertEquals(warnings.length, 1);
  assert(warnings[0]?.includes("before they are synced"), `warning: ${warnings[0]}`);
  await unsynced.close();
});

Deno.test("driver: limits under which an entry cannot fit one peer frame are refused", async () => {
  const options = {
    id: "a",
    store: new MemoryLog(),
    meta: new MemoryMeta(),
    bootstrap: { voters: ["a"], learners: [] },
    send: () => {},
    tickMs: HOUR_MS,
    logger: quiet,
  };
  for (const limit of [{ appendBytesMax: FRAME_BYTES_MAX }, { entryBytesMax: FRAME_BYTES_MAX }]) {
    let error: unknown = null;
    try {
      new RaftNode({ ...options, ...limit });
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof RangeError, `${JSON.stringify(limit)}: got ${error}`);
  }
  const node = new RaftNode(options);
  try {
    const chunk = new Uint8Array(1 << 20);
    const batch = Array.from({ length: ENTRY_BYTES_MAX / chunk.length + 1 }, () => chunk);
    assertEquals((await rejection(node.propose(batch))).code, "TOO_LARGE");
  } finally {
    await node.close();
  }
});

Deno.test("core: a follower the transport reports unreachable goes back to probing", async () => {
  const net = new TestCluster(["a", "b", "c"]);
  await net.elect("a");
  net.core("a").propose(records("x"));
  await net.settle();
  const state = () => net.core("a").followers().find((f) => f.id === "b")?.state;
  assertEquals(state(), "replicate");
  net.core("a").reportUnreachable("b");
  assertEquals(state(), "probe");
  net.core("a").propose(records("y"));
  await net.settle();
  assertEquals(state(), "replicate", "the next answer resumes pipelining");
});

Deno.test("core: a leader's messages leave before persistence only once its term is saved", async () => {
  // A single voter wins its election in the same step that starts it: its term is not
  // durable yet, so nothing it sends may leave before the Ready is persisted.
  const store = new MemoryLog();
  const core = new RaftCore({
    id: "a",
    store,
    random: fixedRandom,
    persisted: null,
    bootstrap: { voters: ["a"], learners: ["l"] },
  });
  for (let tick = 0; tick < 20 && core.status().role !== "leader"; tick++) core.tick();
  assertEquals(core.status().role, "leader");
  assertEquals(core.takeEarlyMessages(), [], "messages of an unsaved term left early");
  const ready = core.ready();
  assert(ready.messages.some((m) => m.type === MessageType.Append), "the append waits");
  await store.appendEntries(ready.persist.entries);
  core.advance(ready);
  const { term, lastIndex } = core.status();
  core.step({
    type: MessageType.AppendResponse,
    from: "l",
    to: "a",
    term,
    success: true,
    index: lastIndex,
    conflictTerm: 0,
    conflictIndex: 0,
  });
  core.propose(records("x"));
  const early = core.takeEarlyMessages();
  assert(early.some((m) => m.type === MessageType.Append), "a saved term's append leaves early");
});

Deno.test("driver: a follower whose disk stalls still answers its leader's heartbeats", async () => {
  const store = new StallingStore();
  const sent: Message[] = [];
  const node = follower(store as MemoryLog, new MemoryMeta(), sent);
  try {
    await roundTrip(node, sent);
    store.stalled = true;
    node.step(firstAppend(records("x")));
    await roundTrip(node, sent); // answered while the append is still stalled
    assert(!sent.some((m) => m.type === MessageType.AppendResponse), "acknowledged early");
    store.release();
    await until(() => sent.some((m) => m.type === MessageType.AppendResponse), "the ack");
  } finally {
    store.release();
    await node.close();
  }
});

/**
 * A store whose appends wait while `stalled` (a write in flight) until {@linkcode fail} makes
 * that append and every later one throw: the disk is gone.
 */
class FailingStore extends MemoryLog {
  stalled = false;
  /** Appends that waited because of `stalled`. */
  stalls = 0;
  #failed: Error | null = null;
  readonly #failure = Promise.withResolvers<never>();
  constructor() {
    super();
    this.#failure.promise.catch(() => {}); // awaited by a stalled append, if any
  }
  override async appendEntries(entries: readonly Entry[]): Promise<void> {
    if (this.stalled) {
      this.stalls++;
      await this.#failure.promise;
    }
    if (this.#failed !== null) throw this.#failed;
    return super.appendEntries(entries);
  }
  fail(error: Error): void {
    this.#failed = error;
    this.#failure.reject(error);
  }
}

/** How a request ended: `code` stays null while it waits ("ok" once it resolved). */
function track(request: Promise<unknown>): { code: string | null; error: RaftError | null } {
  const state = { code: null as string | null, error: null as RaftError | null };
  request.then(
    () => (state.code = "ok"),
    (error) => {
      state.error = error instanceof RaftError ? error : null;
      state.code = error instanceof RaftError ? error.code : String(error);
    },
  );
  return state;
}

/** Whether an Append among `messages` carried the record `value`. */
function carried(messages: readonly Message[], value: string): boolean {
  const wanted = new TextEncoder().encode(value).join();
  return messages.some((m) =>
    m.type === MessageType.Append &&
    m.entries.some((e) => e.records.some((r) => r.join() === wanted))
  );
}

Deno.test("driver: proposals waiting when the leader's disk fails settle at once as unknown outcomes, and may still commit", async () => {
  const stores = new Map<string, FailingStore>();
  const applied = new Map<string, string[]>();
  const decoder = new TextDecoder();
  const net = driverCluster({
    store: (id) => {
      const store = new FailingStore();
      stores.set(id, store);
      return store;
    },
    extra: (id) => {
      const values: string[] = [];
      applied.set(id, values);
      return {
        logger: quiet,
        requestTimeoutMs: HOUR_MS, // only the failure can end the wait within the test
        onApply: (entry) => values.push(...entry.records.map((r) => decoder.decode(r))),
      };
    },
  });
  try {
    const leader = await net.leader();
    await leader.propose(records("before"));
    const store = stores.get(leader.id) as FailingStore;
    store.stalled = true;
    const written = track(leader.propose(records("written"))); // its write is the one that fails
    await until(() => store.stalls === 1, "its write to be in flight");
    const sent = track(leader.propose(records("sent"))); // sent to the followers meanwhile
    await until(() => carried(net.delivered, "sent"), "the followers to receive the second");
    assertEquals([written.code, sent.code], [null, null], "settled before the disk failed");
    store.fail(new Error("disk gone"));
    await until(() => written.code !== null && sent.code !== null, "both to settle");
    for (const { code, error } of [written, sent]) {
      assertEquals(code, "UNKNOWN_OUTCOME");
      assert(/storage failed.*may still commit/.test(error?.message ?? ""), error?.message);
    }
    // Why not "not appended": the next leader commits both.
    const others = [...net.nodes.keys()].filter((id) => id !== leader.id);
    await until(
      () => others.some((id) => applied.get(id)?.includes("sent")),
      "a new leader to commit the entries the failed leader had sent",
    );
    assertEquals((await rejection(leader.propose(records("after")))).code, "STORAGE_FAILED");
  } finally {
    await net.close();
  }
});

Deno.test("driver: when storage fails, a proposal that never left the node is refused STORAGE_FAILED at once", async () => {
  const store = new FailingStore();
  const sent: Message[] = [];
  const node = new RaftNode({
    id: "a",
    store,
    meta: new MemoryMeta(),
    bootstrap: { voters: ["a"], learners: [] },
    send: (m) => sent.push(m),
    tickMs: 5,
    requestTimeoutMs: HOUR_MS,
    logger: quiet,
  });
  try {
    await until(() => node.status().role === "leader", "a to lead");
    await node.propose(records("before"));
    store.stalled = true;
    const written = track(node.propose(records("written"))); // handed to the disk
    await until(() => store.stalls === 1, "its write to be in flight");
    const queued = track(node.propose(records("queued"))); // waits for the next write
    const change = track(node.changeMembership({ type: "addLearner", id: "l" }));
    await until(() => sent.some((m) => m.to === "l"), "the leader to reach the new learner");
    assert(!carried(sent, "queued"), "the queued proposal left the node: the test needs it not to");
    assertEquals([written.code, queued.code, change.code], [null, null, null]);
    store.fail(new Error("disk gone"));
    await until(
      () => written.code !== null && queued.code !== null && change.code !== null,
      "the waiting requests to settle",
    );
    assertEquals(written.code, "UNKNOWN_OUTCOME", "its write may have landed");
    assertEquals(queued.code, "STORAGE_FAILED", "it reached neither the disk nor a peer");
    assert(/disk gone/.test(String(queued.error?.cause)), `cause: ${queued.error?.cause}`);
    // The learner was sent the change (UNKNOWN_OUTCOME) or not yet (STORAGE_FAILED).
    const reached = sent.some((m) =>
      m.type === MessageType.Append && m.entries.some((e) => e.kind === EntryKind.Config)
    );
    assertEquals(change.code, reached ? "UNKNOWN_OUTCOME" : "STORAGE_FAILED");
  } finally {
    await node.close();
  }
});

Deno.test("driver: a read waiting on a follower whose disk fails is refused STORAGE_FAILED at once", async () => {
  const store = new FailingStore();
  const sent: Message[] = [];
  const node = new RaftNode({
    id: "b",
    store,
    meta: new MemoryMeta(),
    bootstrap: THREE,
    send: (m) => sent.push(m),
    tickMs: HOUR_MS,
    requestTimeoutMs: HOUR_MS,
    logger: quiet,
  });
  try {
    await roundTrip(node, sent);
    const read = track(node.readBarrier());
    await until(() => sent.some((m) => m.type === MessageType.ReadIndex), "the forwarded read");
    store.fail(new Error("disk gone"));
    node.step(firstAppend(records("x")));
    await until(() => read.code !== null, "the read to settle after the failure");
    assertEquals(read.code, "STORAGE_FAILED");
  } finally {
    await node.close();
  }
});

/** A store whose next append stalls while `stalled` and whose reads throw `readError` once set. */
class UnreadableStore extends MemoryLog {
  stalled = false;
  stalls = 0;
  readError: Error | null = null;
  readonly #release = Promise.withResolvers<void>();
  override async appendEntries(entries: readonly Entry[]): Promise<void> {
    if (this.stalled) {
      this.stalls++;
      await this.#release.promise;
    }
    return super.appendEntries(entries);
  }
  release(): void {
    this.#release.resolve();
  }
  override entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    if (this.readError !== null) throw this.readError;
    return super.entries(fromIndex, toIndex, bytesMax);
  }
}

Deno.test("driver: a disk read error while a write is in flight stops the node (STORAGE_FAILED), never escapes", async () => {
  // Entries 1..3 of term 1 from an earlier process: applying them reads the store.
  const { log: lagging, meta } = await laggingFollower();
  const store = new UnreadableStore();
  await store.appendEntries(lagging.entries(1, 4, Infinity));
  const sent: Message[] = [];
  const errors: string[] = [];
  const node = new RaftNode({
    id: "c",
    store,
    meta,
    bootstrap: FIVE,
    send: (m) => sent.push(m),
    tickMs: HOUR_MS,
    requestTimeoutMs: HOUR_MS,
    logger: { warn: () => {}, error: (_message, fields) => errors.push(String(fields?.code)) },
  });
  try {
    const append = (entries: Entry[], prevIndex: number, commit: number): Message => ({
      type: MessageType.Append,
      from: "a",
      to: "c",
      term: 1,
      prevIndex,
      prevTerm: 1,
      commit,
      entries,
    });
    store.stalled = true;
    const fourth: Entry = {
      term: 1,
      index: 4,
      kind: EntryKind.Records,
      baseOffset: 3,
      records: records("x"),
      data: new Uint8Array(),
    };
    node.step(append([fourth], 3, 0));
    await until(() => store.stalls === 1, "the write of entry 4 to be in flight");
    const read = node.readBarrier().catch((error) => error);
    store.readError = new Error("EIO: /data/log/00000000000000000001.store: input/output error");
    // Entries 1..3 commit while the write is in flight: applying them reads the store.
    node.step(append([], 4, 3));
    const error = await read;
    assert(error instanceof RaftError, `expected a RaftError, got ${error}`);
    assertEquals(error.code, "STORAGE_FAILED");
    assert(/00000000000000000001\.store/.test(error.message), error.message);
    assertEquals(errors, ["STORAGE_FAILED"]);
    assertEquals((await rejection(node.propose(records("y")))).code, "STORAGE_FAILED");
  } finally {
    store.release();
    await node.close();
  }
});
