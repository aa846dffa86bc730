/**
 * The storage conformance suite: every `EntryStore` + `RecordLog` implementation (the file log,
 * the in-memory log) must pass it. Call {@linkcode runConformance} from a `*_test.ts` file.
 * @module
 */

import { type Entry, EntryKind, type EntryStore, type RecordLog } from "../../log/mod.ts";
import { assert, assertEquals, assertRejectsLog, assertThrowsLog, bytes, text } from "./_assert.ts";

/** What the suite exercises. */
export type ConformanceLog = EntryStore & RecordLog;

/** Limits a factory must honour (the file log also takes a small segment size). */
export interface ConformanceOptions {
  readonly recordBytesMax?: number;
  readonly batchBytesMax?: number;
  /** Small segments, so that prefix deletion has something to delete. */
  readonly segmentBytesMax?: number;
}

/** Makes a fresh, empty log; `dispose` closes it (if still open) and removes what it made. */
export type ConformanceFactory = (
  options: ConformanceOptions,
) => Promise<{ log: ConformanceLog; dispose: () => Promise<void> }>;

type Case = (log: ConformanceLog) => Promise<void>;

const cases: Record<string, [ConformanceOptions, Case]> = {
  "a new log is empty": [{}, newLogIsEmpty],
  "appends get dense offsets and indexes and read back": [{}, appendsReadBack],
  "concurrent appends land in call order": [{}, concurrentAppends],
  "readFrom honours the byte budget and returns at least one record": [{}, readFromBudget],
  "entries honours the byte budget and the range": [{}, entriesBudget],
  "appendEntries keeps offsets dense across noop and config entries": [{}, appendEntriesKinds],
  "appendEntries rejects what does not continue the log": [{}, appendEntriesRejects],
  "terms default to the last term and never go down": [{}, termsMonotonic],
  "truncateSuffix removes entries and rolls offsets back": [{}, truncateSuffix],
  "deletePrefix keeps what is at or after the boundary": [{ segmentBytesMax: 400 }, deletePrefix],
  "restartAt restarts the indexes, offsets and remembered term": [{}, restartAt],
  "limits reject too large records and batches": [
    { recordBytesMax: 100, batchBytesMax: 250 },
    limits,
  ],
  "a closed log rejects every call": [{}, closedLog],
};

/** Registers one `Deno.test` per conformance case for the implementation `name`. */
export function runConformance(name: string, factory: ConformanceFactory): void {
  for (const [title, [options, run]] of Object.entries(cases)) {
    Deno.test(`${name} conformance: ${title}`, async () => {
      const { log, dispose } = await factory(options);
      try {
        await run(log);
      } finally {
        await dispose();
      }
    });
  }
}

async function newLogIsEmpty(log: ConformanceLog): Promise<void> {
  assertEquals([log.firstIndex(), log.lastIndex(), log.firstOffset(), log.nextOffset()], [
    1,
    0,
    0,
    0,
  ]);
  assertEquals(log.termAt(0), 0);
  assertEquals(log.entries(1, 1, 100), []);
  assertEquals(log.readFrom(0, 100), []);
  assertThrowsLog(() => log.read(0), "OFFSET_OUT_OF_RANGE", "holds no records");
  assertThrowsLog(() => log.termAt(1), "INDEX_OUT_OF_RANGE", "entries 0 to 0");
  assertEquals(log.stats().nextOffset, 0);
  await Promise.resolve();
}

async function appendsReadBack(log: ConformanceLog): Promise<void> {
  assertEquals(await log.append([bytes("a"), bytes("b")]), { baseOffset: 0, index: 1 });
  assertEquals(await log.append([bytes("c")], { term: 2 }), { baseOffset: 2, index: 2 });
  assertEquals([log.lastIndex(), log.nextOffset()], [2, 3]);
  assertEquals([0, 1, 2].map((o) => text(log.read(o).value)), ["a", "b", "c"]);
  assertEquals(log.read(2), { value: bytes("c"), offset: 2, term: 2 });
  assertEquals([log.termAt(1), log.termAt(2)], [0, 2]);
  assertThrowsLog(() => log.read(3), "OFFSET_OUT_OF_RANGE", "offsets 0 to 2");
  assertThrowsLog(() => log.read(-1), "OFFSET_OUT_OF_RANGE", "Cannot read offset -1");
  const [first, second] = log.entries(1, 3, 1000);
  assertEquals(first?.records.map(text), ["a", "b"]);
  assertEquals([second?.index, second?.baseOffset, second?.term], [2, 2, 2]);
  const stats = log.stats();
  assertEquals([stats.firstIndex, stats.lastIndex, stats.nextOffset], [1, 2, 3]);
  assert(stats.bytes >= 3, "stats count the stored bytes");
}

async function concurrentAppends(log: ConformanceLog): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: 64 }, (_, i) => log.append([bytes(`r${i}`)])),
  );
  assertEquals(results.map((r) => r.baseOffset), Array.from({ length: 64 }, (_, i) => i));
  assertEquals(results.map((r) => r.index), Array.from({ length: 64 }, (_, i) => i + 1));
  for (let i = 0; i < 64; i++) assertEquals(text(log.read(i).value), `r${i}`);
}

async function readFromBudget(log: ConformanceLog): Promise<void> {
  await log.append([bytes("aaaa"), bytes("bbbb")]);
  await log.append([bytes("cccc")]);
  await log.append([bytes("dddd"), bytes("eeee")]);
  const offsets = (from: number, budget: number) => log.readFrom(from, budget).map((r) => r.offset);
  assertEquals(offsets(0, 1000), [0, 1, 2, 3, 4]);
  assertEquals(offsets(1, 8), [1, 2], "stops before exceeding the budget, across entries");
  assertEquals(offsets(3, 1), [3], "at least one record even over budget");
  assertEquals(offsets(5, 1000), [], "at the tail: nothing yet");
  assertEquals(log.readFrom(4, 100)[0]?.term, 0);
  assertThrowsLog(() => log.readFrom(6, 10), "OFFSET_OUT_OF_RANGE");
}

async function entriesBudget(log: ConformanceLog): Promise<void> {
  for (let i = 0; i < 5; i++) await log.append([bytes("0123456789")]);
  assertEquals(log.entries(1, 6, 25).map((e) => e.index), [1, 2]);
  assertEquals(log.entries(2, 6, 1).map((e) => e.index), [2], "at least one entry");
  assertEquals(log.entries(3, 5, 1000).map((e) => e.index), [3, 4], "toIndex is exclusive");
  assertThrowsLog(() => log.entries(0, 2, 100), "INDEX_OUT_OF_RANGE", "entries 1 to 5");
  assertThrowsLog(() => log.entries(2, 7, 100), "INDEX_OUT_OF_RANGE");
  assertThrowsLog(() => log.entries(3, 2, 100), "INDEX_OUT_OF_RANGE");
}

function entry(partial: Partial<Entry> & Pick<Entry, "index" | "baseOffset">): Entry {
  return { term: 1, kind: EntryKind.Records, records: [], data: new Uint8Array(0), ...partial };
}

async function appendEntriesKinds(log: ConformanceLog): Promise<void> {
  await log.appendEntries([
    entry({ index: 1, baseOffset: 0, kind: EntryKind.Noop }),
    entry({ index: 2, baseOffset: 0, records: [bytes("x"), bytes("y")] }),
    entry({ index: 3, baseOffset: 2, kind: EntryKind.Config, data: bytes("cfg") }),
    entry({ index: 4, baseOffset: 2, term: 3, records: [bytes("z")] }),
  ]);
  assertEquals([log.lastIndex(), log.nextOffset()], [4, 3]);
  assertEquals(log.readFrom(0, 100).map((r) => [text(r.value), r.offset, r.term]), [
    ["x", 0, 1],
    ["y", 1, 1],
    ["z", 2, 3],
  ]);
  const stored = log.entries(1, 5, 1000);
  assertEquals(stored.map((e) => e.kind), [EntryKind.Noop, 1, EntryKind.Config, 1]);
  assertEquals(text(stored[2]!.data), "cfg");
  assertEquals(await log.append([bytes("w")]), { baseOffset: 3, index: 5 });
  assertEquals(log.termAt(5), 3);
}

async function appendEntriesRejects(log: ConformanceLog): Promise<void> {
  await log.append([bytes("a")], { term: 2 });
  const bad = [
    [entry({ index: 3, baseOffset: 1, term: 2 })],
    [entry({ index: 2, baseOffset: 0, term: 2 })],
    [entry({ index: 2, baseOffset: 1, term: 1 })],
    [entry({ index: 2, baseOffset: 1, term: 2 }), entry({ index: 4, baseOffset: 1, term: 2 })],
    [entry({ index: 2, baseOffset: 1, kind: EntryKind.Noop, records: [bytes("x")], term: 2 })],
  ];
  for (const entries of bad) await assertRejectsLog(log.appendEntries(entries), "INVALID_ARGUMENT");
  assertEquals([log.lastIndex(), log.nextOffset()], [1, 1], "nothing of a rejected call lands");
  await log.appendEntries([]);
  await log.appendEntries([entry({ index: 2, baseOffset: 1, term: 2, records: [bytes("b")] })]);
  assertEquals(text(log.read(1).value), "b");
}

async function termsMonotonic(log: ConformanceLog): Promise<void> {
  await log.append([bytes("a")], { term: 4 });
  await log.append([bytes("b")]);
  assertEquals(log.termAt(2), 4, "the term defaults to the last entry's");
  await assertRejectsLog(log.append([bytes("c")], { term: 3 }), "INVALID_ARGUMENT", "term 3");
  assertEquals(log.lastIndex(), 2);
}

async function truncateSuffix(log: ConformanceLog): Promise<void> {
  for (let i = 0; i < 6; i++) await log.append([bytes(`a${i}`), bytes(`b${i}`)], { term: 1 });
  await log.truncateSuffix(4);
  assertEquals([log.lastIndex(), log.nextOffset(), log.termAt(3)], [3, 6, 1]);
  assertThrowsLog(() => log.read(6), "OFFSET_OUT_OF_RANGE", "offsets 0 to 5");
  assertEquals(await log.append([bytes("new")], { term: 2 }), { baseOffset: 6, index: 4 });
  assertEquals(text(log.read(6).value), "new");
  assertEquals(log.readFrom(5, 100).map((r) => text(r.value)), ["b2", "new"]);
  await log.truncateSuffix(5);
  assertEquals(log.lastIndex(), 4, "truncating at lastIndex + 1 changes nothing");
  await assertRejectsLog(log.truncateSuffix(6), "INDEX_OUT_OF_RANGE");
  await assertRejectsLog(log.truncateSuffix(0), "INDEX_OUT_OF_RANGE");
  await log.truncateSuffix(1);
  assertEquals([log.lastIndex(), log.nextOffset(), log.firstOffset()], [0, 0, 0]);
  assertEquals(await log.append([bytes("again")]), { baseOffset: 0, index: 1 });
}

async function deletePrefix(log: ConformanceLog): Promise<void> {
  for (let i = 1; i <= 20; i++) {
    await log.append([bytes(`record-${i}`.padEnd(40, "."))], { term: Math.ceil(i / 5) });
  }
  await log.deletePrefix(10);
  const first = log.firstIndex();
  assert(first > 1 && first <= 10, `firstIndex ${first} moved but not past 10`);
  assertEquals(log.termAt(first - 1), Math.ceil((first - 1) / 5), "the term before is kept");
  assertEquals(log.firstOffset(), first - 1);
  assertEquals(log.entries(first, 21, 1 << 20).length, 21 - first);
  assertEquals(text(log.read(19).value).slice(0, 9), "record-20");
  assertThrowsLog(() => log.read(first - 2), "OFFSET_OUT_OF_RANGE");
  assertThrowsLog(() => log.termAt(first - 2), "INDEX_OUT_OF_RANGE");
  await log.deletePrefix(1);
  assertEquals(log.firstIndex(), first, "deleting below the first index changes nothing");
  await log.append([bytes("tail")]);
  assertEquals(log.lastIndex(), 21);
}

async function restartAt(log: ConformanceLog): Promise<void> {
  await log.append([bytes("old")]);
  await log.restartAt(100, 7, 5000);
  assertEquals([log.firstIndex(), log.lastIndex(), log.termAt(100)], [101, 100, 7]);
  assertEquals([log.firstOffset(), log.nextOffset()], [5000, 5000]);
  assertThrowsLog(() => log.read(0), "OFFSET_OUT_OF_RANGE", "next offset is 5000");
  assertEquals(await log.append([bytes("new")]), { baseOffset: 5000, index: 101 });
  assertEquals(log.termAt(101), 7, "the term continues from the restart term");
  assertEquals(text(log.read(5000).value), "new");
  await assertRejectsLog(log.restartAt(-1, 0, 0), "INVALID_ARGUMENT");
}

async function limits(log: ConformanceLog): Promise<void> {
  await assertRejectsLog(log.append([new Uint8Array(101)]), "TOO_LARGE", "recordBytesMax");
  const three = [new Uint8Array(100), new Uint8Array(100), new Uint8Array(100)];
  await assertRejectsLog(log.append(three), "TOO_LARGE", "batchBytesMax");
  await assertRejectsLog(log.append([]), "INVALID_ARGUMENT", "empty batch");
  await log.append([new Uint8Array(100), new Uint8Array(100)]);
  const big = entry({ index: 2, baseOffset: 2, kind: EntryKind.Config, data: new Uint8Array(251) });
  await assertRejectsLog(log.appendEntries([big]), "TOO_LARGE");
  assertEquals(log.nextOffset(), 2);
}

async function closedLog(log: ConformanceLog): Promise<void> {
  await log.append([bytes("a")]);
  await log.close();
  assertThrowsLog(() => log.read(0), "CLOSED");
  assertThrowsLog(() => log.lastIndex(), "CLOSED");
  await assertRejectsLog(log.append([bytes("b")]), "CLOSED");
  await assertRejectsLog(log.truncateSuffix(1), "CLOSED");
  await assertRejectsLog(log.close(), "CLOSED");
}
