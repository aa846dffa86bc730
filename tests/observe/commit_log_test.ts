import { Metrics, observeCommitLog } from "../../observe/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseExposition, valueOf } from "./_exposition.ts";

interface FakeRecord {
  readonly value: Uint8Array;
  readonly offset: number;
  readonly term: number;
}

/** A log in memory with the server's CommitLog shape (and `this`-dependent members). */
class FakeLog {
  readonly records: FakeRecord[] = [];
  failNext = false;
  async append(values: Uint8Array[]): Promise<{ baseOffset: number }> {
    await Promise.resolve();
    if (this.failNext) throw Object.assign(new Error("Cannot append: closed"), { code: "CLOSED" });
    const baseOffset = this.records.length;
    values.forEach((value, i) => this.records.push({ value, offset: baseOffset + i, term: 0 }));
    return { baseOffset };
  }
  read(offset: number): FakeRecord {
    const record = this.records[offset];
    if (record === undefined) throw new Error(`Cannot read offset ${offset}`);
    return record;
  }
  readFrom(offset: number, _bytesMax: number): FakeRecord[] {
    return this.records.slice(offset);
  }
  nextOffset(): number {
    return this.records.length;
  }
}

const bytes = (length: number) => new Uint8Array(length);

Deno.test("appends are counted as produced and timed; failed appends produce nothing", async () => {
  const metrics = new Metrics();
  const inner = new FakeLog();
  let clockMs = 0;
  const log = observeCommitLog(inner, {
    metrics,
    nowMs: () => (clockMs += 5),
  });
  assertEquals(await log.append([bytes(10), bytes(20)]), { baseOffset: 0 });
  inner.failNext = true;
  let failed = false;
  await log.append([bytes(99)]).catch(() => (failed = true));
  assert(failed, "the failure reaches the caller");
  const exposition = parseExposition(await metrics.exposition());
  assertEquals(valueOf(exposition, "strand_records_total", { direction: "produced" }), 2);
  assertEquals(valueOf(exposition, "strand_record_bytes_total", { direction: "produced" }), 30);
  assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_count"), 1);
  assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_sum"), 0.005);
});

Deno.test("read and readFrom count what they return as consumed; other members pass through", async () => {
  const metrics = new Metrics();
  const log = observeCommitLog(new FakeLog(), { metrics });
  await log.append([bytes(1), bytes(2), bytes(3)]);
  assertEquals(log.read(1).value.byteLength, 2);
  assertEquals(log.readFrom(1, 1024).length, 2);
  assertEquals(log.nextOffset(), 3, "a method using `this` still works");
  const exposition = parseExposition(await metrics.exposition());
  assertEquals(valueOf(exposition, "strand_records_total", { direction: "consumed" }), 3);
  assertEquals(valueOf(exposition, "strand_record_bytes_total", { direction: "consumed" }), 7);
});
