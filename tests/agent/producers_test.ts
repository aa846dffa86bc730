/**
 * The producer table and gate behind exactly-once produce: the window of remembered batches,
 * eviction of the least recently appended producer, refusals (out of order, too old, changed
 * retry), the entry encoding, the rebuild from the log, and one batch in flight per producer.
 */
import {
  decodeProducerData,
  encodeProducerData,
  type GatedLog,
  ProducerError,
  ProducerGate,
  ProducerRetryError,
  ProducerTable,
} from "../../agent/_producers.ts";
import { LocalCommitLog } from "../../agent/_local_log.ts";
import { RaftCommitLog } from "../../agent/_raft_log.ts";
import { EntryKind, type FileLog, MemoryLog, openLog } from "../../log/mod.ts";
import type { AppendAck } from "../../server/mod.ts";
import { assert, assertEquals } from "../server/_assert.ts";
import { withTempDir } from "../log/_fixtures.ts";

const values = (...texts: string[]) => texts.map((text) => new TextEncoder().encode(text));

async function rejects(promise: Promise<unknown>, type: new (...args: never[]) => Error) {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof type, `expected ${type.name}, got ${error}`);
    return error as Error;
  }
  throw new Error(`expected ${type.name}, got success`);
}

Deno.test("producer table: remembers the last N batches; older ones are refused as too old", () => {
  const table = new ProducerTable({ windowBatches: 3 });
  for (let sequence = 1; sequence <= 5; sequence++) table.record("p", sequence, sequence * 10, 2);
  assertEquals(table.check("p", 3, 2), { kind: "duplicate", baseOffset: 30, count: 2 });
  assertEquals(table.check("p", 5, 2), { kind: "duplicate", baseOffset: 50, count: 2 });
  assertEquals(table.check("p", 6, 2), { kind: "append" });
  const old = table.check("p", 2, 2);
  assert(old.kind === "refuse", "sequence 2 left the window");
  assert(old.message.includes("only its batches 3 to 5"), old.message);
  assert(old.message.includes("from 6"), old.message);
});

Deno.test("producer table: a gap is refused as out of order, naming the missing batches", () => {
  const table = new ProducerTable();
  table.record("p", 1, 0, 1);
  const gap = table.check("p", 4, 1);
  assert(gap.kind === "refuse", "sequence 4 after 1 is out of order");
  assert(gap.message.includes("last appended batch is 1"), gap.message);
  assert(gap.message.includes("send batches 2 to 3 first"), gap.message);
  assertEquals(table.check("p", 2, 1), { kind: "append" });
});

Deno.test("producer table: a retry with another record count is refused, not taken as a duplicate", () => {
  const table = new ProducerTable();
  table.record("p", 7, 100, 3);
  const changed = table.check("p", 7, 2);
  assert(changed.kind === "refuse", "a changed batch is refused");
  assert(changed.message.includes("appended with 3 records"), changed.message);
});

Deno.test("producer table: an unknown producer starts at any sequence; a restart renumbers afresh", () => {
  const table = new ProducerTable();
  assertEquals(table.check("new", 42, 1), { kind: "append" });
  table.record("p", 1, 0, 1);
  table.record("p", 2, 1, 1);
  table.record("p", 9, 5, 1); // recorded elsewhere after the producer was forgotten
  assertEquals(table.lastSequence("p"), 9);
  assert(table.check("p", 2, 1).kind === "refuse", "the old window is gone");
  assertEquals(table.check("p", 9, 1), { kind: "duplicate", baseOffset: 5, count: 1 });
});

Deno.test("producer table: past producersMax the least recently appended producer is forgotten", () => {
  const table = new ProducerTable({ producersMax: 2 });
  table.record("a", 1, 0, 1);
  table.record("b", 1, 1, 1);
  table.record("a", 2, 2, 1); // appending makes a the most recent: b is now the least
  table.record("c", 1, 3, 1);
  assertEquals([table.size, table.evictions], [2, 1]);
  assertEquals(table.lastSequence("b"), null);
  assertEquals(table.lastSequence("a"), 2);
  assertEquals(table.lastSequence("c"), 1);
  assertEquals(table.check("b", 5, 1), { kind: "append" });
});

Deno.test("producer table: a lookup does not reorder producers (every replica evicts the same)", () => {
  const table = new ProducerTable({ producersMax: 2 });
  table.record("a", 1, 0, 1);
  table.record("b", 1, 1, 1);
  assertEquals(table.check("a", 1, 1).kind, "duplicate"); // only a leader looks up
  table.record("c", 1, 2, 1);
  assertEquals([table.lastSequence("a"), table.lastSequence("b")], [null, 1]);
});

Deno.test("producer table: bounds must be positive integers", () => {
  for (const options of [{ windowBatches: 0 }, { producersMax: 1.5 }]) {
    let threw = false;
    try {
      new ProducerTable(options);
    } catch (error) {
      threw = error instanceof RangeError;
    }
    assert(threw, `refused ${JSON.stringify(options)}`);
  }
});

Deno.test("producer data: round-trips the id and a sequence up to 2^53 - 1; other formats are none", () => {
  for (
    const producer of [{ id: "p", sequence: 0 }, { id: "ü".repeat(60), sequence: 2 ** 53 - 1 }]
  ) {
    assertEquals(decodeProducerData(encodeProducerData(producer)), producer);
  }
  const bytes = encodeProducerData({ id: "p", sequence: 1 });
  bytes[0] = 2;
  assertEquals(decodeProducerData(bytes), null);
  assertEquals(decodeProducerData(new Uint8Array(0)), null);
  assertEquals(
    decodeProducerData(encodeProducerData({ id: "p", sequence: 1 }).subarray(0, 5)),
    null,
  );
});

Deno.test("local log: a retried batch is answered as a duplicate, and the table survives a restart", async () => {
  await withTempDir(async (dir) => {
    let log: FileLog = await openLog(dir);
    try {
      const local = new LocalCommitLog(log);
      const first = await local.append(values("a", "b"), { id: "p", sequence: 1 });
      await local.append(values("x"));
      const again = await local.append(values("a", "b"), { id: "p", sequence: 1 });
      assertEquals(first.duplicate, undefined);
      assertEquals([again.baseOffset, again.count, again.duplicate], [0, 2, true]);
      assertEquals(log.nextOffset(), 3, "nothing appended twice");
      await log.close();
      log = await openLog(dir);
      const reopened = new LocalCommitLog(log);
      assertEquals(reopened.producers.lastSequence("p"), 1, "rebuilt from the entries");
      const retry = await reopened.append(values("a", "b"), { id: "p", sequence: 1 });
      assertEquals([retry.baseOffset, retry.duplicate], [0, true]);
      const next = await reopened.append(values("c"), { id: "p", sequence: 2 });
      assertEquals([next.baseOffset, next.duplicate], [3, undefined]);
      await rejects(reopened.append(values("d"), { id: "p", sequence: 4 }), ProducerError);
      assertEquals(log.nextOffset(), 4);
    } finally {
      await log.close();
    }
  });
});

Deno.test("local log: the window is bounded by retention: a restart forgets producers whose batches all left the log", async () => {
  await withTempDir(async (dir) => {
    const options = { segmentBytesMax: 300, retentionBytes: 1 };
    let log: FileLog = await openLog(dir, options);
    try {
      const local = new LocalCommitLog(log);
      await local.append(values("old"), { id: "old", sequence: 1 });
      for (let sequence = 1; sequence <= 12; sequence++) {
        await local.append(values(`record ${sequence}`.padEnd(40, ".")), { id: "new", sequence });
      }
      await log.enforceRetention();
      assert(log.firstOffset() > 0, "retention removed the first segments");
      // Still running: the table outlives retention.
      assertEquals((await local.append(values("old"), { id: "old", sequence: 1 })).duplicate, true);
      await log.close();
      log = await openLog(dir, options);
      const reopened = new LocalCommitLog(log);
      assertEquals(reopened.producers.lastSequence("old"), null, "forgotten with its segment");
      const last = await reopened.append(values("record 12".padEnd(40, ".")), {
        id: "new",
        sequence: 12,
      });
      assertEquals([last.duplicate, last.baseOffset], [true, 12]);
    } finally {
      await log.close();
    }
  });
});

Deno.test("local log: a retry of the batch in flight waits for it instead of appending it again", async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir);
    try {
      const local = new LocalCommitLog(log);
      const producer = { id: "p", sequence: 1 };
      const [a, b] = await Promise.all([
        local.append(values("a"), producer),
        local.append(values("a"), producer),
      ]);
      assertEquals([a.baseOffset, b.baseOffset], [0, 0]);
      assertEquals([a.duplicate ?? false, b.duplicate ?? false].sort(), [false, true]);
      assertEquals(log.nextOffset(), 1);
    } finally {
      await log.close();
    }
  });
});

/** A gated log whose appends the test settles by hand. */
function handLog(epoch: { value: number }) {
  const pending: { resolve(ack: AppendAck): void; reject(error: unknown): void }[] = [];
  const log: GatedLog = {
    epoch: () => Promise.resolve(epoch.value),
    append: () => new Promise((resolve, reject) => pending.push({ resolve, reject })),
    duplicateAck: (baseOffset, count) => ({ baseOffset, count, duplicate: true }),
    mayStillAppend: (error) => (error as { code?: string }).code === "UNKNOWN_OUTCOME",
  };
  return { log, pending };
}

Deno.test("gate: another batch of a producer waits its turn; an unknown outcome is settled by a new term", async () => {
  const epoch = { value: 1 };
  const gate = new ProducerGate(new ProducerTable());
  const { log, pending } = handLog(epoch);
  const first = gate.append({ id: "p", sequence: 1 }, 1, log);
  await Promise.resolve();
  assertEquals(pending.length, 1);
  await rejects(gate.append({ id: "p", sequence: 2 }, 1, log), ProducerRetryError);
  const unknown = Object.assign(new Error("timed out"), { code: "UNKNOWN_OUTCOME" });
  pending[0]!.reject(unknown);
  await rejects(first, Error);
  // It may still commit in term 1: a retry must not append it again, only wait.
  const doubt = await rejects(gate.append({ id: "p", sequence: 1 }, 1, log), ProducerRetryError);
  assert(doubt.message.includes("retry shortly"), doubt.message);
  assertEquals(pending.length, 1);
  // A new term's leader has applied everything of term 1: the table decides (here: append).
  epoch.value = 2;
  const retried = gate.append({ id: "p", sequence: 1 }, 1, log);
  await Promise.resolve();
  assertEquals(pending.length, 2);
  pending[1]!.resolve({ baseOffset: 7 });
  assertEquals((await retried).baseOffset, 7);
  assertEquals(gate.inFlight, 0);
});

Deno.test("gate: a definite failure (nothing appended) lets the retry append", async () => {
  const gate = new ProducerGate(new ProducerTable());
  const { log, pending } = handLog({ value: 1 });
  const first = gate.append({ id: "p", sequence: 1 }, 1, log);
  const retry = gate.append({ id: "p", sequence: 1 }, 1, log);
  await Promise.resolve();
  pending[0]!.reject(Object.assign(new Error("lost leadership"), { code: "NOT_LEADER" }));
  await rejects(first, Error);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(pending.length, 2, "the waiting retry appended once the first failed");
  pending[1]!.resolve({ baseOffset: 3 });
  assertEquals((await retry).baseOffset, 3);
});

Deno.test("raft log: applied batches fill the table; entries skipped by a snapshot clear it", () => {
  const store = new MemoryLog() as unknown as FileLog;
  const route = { leader: () => null, forward: () => Promise.reject(new Error("unused")) };
  const raft = new RaftCommitLog(store, route);
  const entry = (index: number, id: string, sequence: number) => ({
    term: 1,
    index,
    kind: EntryKind.Records,
    baseOffset: index - 1,
    records: values("v"),
    data: encodeProducerData({ id, sequence }),
  });
  raft.onApply(entry(1, "p", 1));
  raft.onApply(entry(2, "q", 1));
  raft.onApply(entry(3, "p", 2));
  assertEquals(raft.producers.check("p", 1, 1), { kind: "duplicate", baseOffset: 0, count: 1 });
  assertEquals(raft.producers.size, 2);
  // The log restarted at a snapshot: 4 to 8 never applied here, q's later batches may be there.
  raft.onApply(entry(9, "p", 8));
  assertEquals(raft.producers.lastSequence("q"), null);
  assertEquals(raft.producers.lastSequence("p"), 8);
  assertEquals(raft.producers.size, 1);
  raft.close();
});

Deno.test("raft log: a new leader applies the entries of earlier terms before deciding a producer's batch", async () => {
  const store = new MemoryLog() as unknown as FileLog;
  const route = { leader: () => null, forward: () => Promise.reject(new Error("unused")) };
  const raft = new RaftCommitLog(store, route);
  const { promise: caughtUp, resolve: catchUp } = Promise.withResolvers<number>();
  const proposed: unknown[] = [];
  let barriers = 0;
  const node = {
    status: () => ({
      role: "leader",
      term: 2,
      commitIndex: 1,
      durability: "none",
      membership: { voters: ["n1"], learners: [] },
    }),
    followers: () => [],
    readBarrier: () => {
      barriers++;
      return caughtUp;
    },
    propose: (records: unknown) => {
      proposed.push(records);
      return Promise.resolve({ baseOffset: 1, index: 2 });
    },
  };
  raft.attach(node as unknown as Parameters<RaftCommitLog["attach"]>[0]);
  // The old leader appended batch 1 of p (term 1); this leader has not applied it yet.
  const retry = raft.appendHere(values("a"), { id: "p", sequence: 1 });
  await Promise.resolve();
  raft.onApply({
    term: 1,
    index: 1,
    kind: EntryKind.Records,
    baseOffset: 0,
    records: values("a"),
    data: encodeProducerData({ id: "p", sequence: 1 }),
  });
  catchUp(1);
  const answer = await retry;
  assertEquals([answer.baseOffset, answer.duplicate], [0, true]);
  assertEquals(proposed.length, 0, "nothing proposed again");
  // Later batches of the term decide at once: one barrier per term.
  await raft.appendHere(values("b"), { id: "p", sequence: 2 });
  assertEquals([proposed.length, barriers], [1, 1]);
  raft.close();
});
