import { type GroupCommitEvent, openLog } from "../../log/mod.ts";
import { assert, assertEquals, assertRejectsLog, bytes, text } from "./_assert.ts";
import { storeFiles, valueOf, withTempDir } from "./_fixtures.ts";

Deno.test("FileLog keeps everything across close and reopen", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 1000 });
    for (let i = 0; i < 100; i++) await log.append([valueOf(i)], { term: 1 + (i >> 4) });
    await log.close();
    const reopened = await openLog(dir, { segmentBytesMax: 1000 });
    assertEquals([reopened.firstIndex(), reopened.lastIndex(), reopened.nextOffset()], [
      1,
      100,
      100,
    ]);
    for (let i = 0; i < 100; i++) assertEquals(reopened.read(i).value, valueOf(i));
    assertEquals(reopened.termAt(100), 1 + (99 >> 4));
    assertEquals(await reopened.append([bytes("more")]), { baseOffset: 100, index: 101 });
    await reopened.close();
  }));

Deno.test("FileLog rolls segments by store size and by index size, and finds across them", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 600 });
    for (let i = 0; i < 60; i++) await log.append([valueOf(i), valueOf(i + 1000)]);
    const segments = log.stats().segments;
    assert(segments >= 10, `expected many segments, got ${segments}`);
    assertEquals((await storeFiles(dir)).length, segments);
    for (let offset = 0; offset < 120; offset += 7) {
      const expected = offset % 2 === 0 ? valueOf(offset / 2) : valueOf((offset - 1) / 2 + 1000);
      assertEquals(log.read(offset).value, expected, `offset ${offset}`);
    }
    assertEquals(log.readFrom(0, 1 << 20).length, 120, "readFrom crosses segments");
    assertEquals(log.entries(1, 61, 1 << 20).length, 60, "entries crosses segments");
    await log.close();
    const byIndex = await openLog(`${dir}/by-index`, { indexBytesMax: 24 * 4 });
    for (let i = 0; i < 10; i++) await byIndex.append([valueOf(i)]);
    assertEquals(byIndex.stats().segments, 3, "4 entries per segment: 4 + 4 + 2");
    await byIndex.close();
  }));

Deno.test("FileLog locks its directory against a second open until closed", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    await assertRejectsLog(openLog(dir), "LOCKED", `data dir ${dir} is in use`);
    await log.close();
    const again = await openLog(dir);
    await again.close();
  }));

Deno.test("FileLog group-commits concurrent appends into one write", () =>
  withTempDir(async (dir) => {
    const events: GroupCommitEvent[] = [];
    const log = await openLog(dir, { observer: { onGroupCommit: (event) => events.push(event) } });
    await Promise.all(Array.from({ length: 64 }, (_, i) => log.append([valueOf(i)])));
    assertEquals(events.length, 1, "64 appends made in one turn share one group");
    assertEquals(events[0]!.entries, 64);
    assert(events[0]!.fsyncMs > 0, "under always the group is fsynced");
    await log.append([bytes("one")]);
    assertEquals(events.length, 2);
    await log.close();
  }));

Deno.test("FileLog under never and interval=<ms> appends, reads and reopens", async () => {
  for (const fsync of [{ mode: "never" } as const, { mode: "interval", intervalMs: 5 } as const]) {
    await withTempDir(async (dir) => {
      const events: GroupCommitEvent[] = [];
      const observer = { onGroupCommit: (event: GroupCommitEvent) => events.push(event) };
      const log = await openLog(dir, { fsync, observer });
      for (let i = 0; i < 20; i++) await log.append([valueOf(i)]);
      assertEquals(text(log.read(19).value), text(valueOf(19)));
      assert(events.every((event) => event.fsyncMs === 0), `${fsync.mode}: no fsync per group`);
      await log.close();
      const reopened = await openLog(dir);
      assertEquals(reopened.nextOffset(), 20);
      await reopened.close();
    });
  }
});

Deno.test("FileLog retention deletes the oldest sealed segments by size", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 500, retentionBytes: 1500 });
    for (let i = 0; i < 100; i++) await log.append([valueOf(i)]);
    const stats = log.stats();
    assert(stats.bytes >= 1500, `kept at least retentionBytes, got ${stats.bytes}`);
    assert(stats.bytes < 1500 + 2 * 600, `kept about retentionBytes, got ${stats.bytes}`);
    assert(stats.firstOffset > 0, "old records are gone");
    assertEquals(log.read(99).value, valueOf(99));
    assertEquals(log.read(stats.firstOffset).value, valueOf(stats.firstOffset));
    await assertRejectsLog(Promise.resolve().then(() => log.read(0)), "OFFSET_OUT_OF_RANGE");
    await log.close();
  }));

Deno.test("FileLog retention deletes sealed segments older than retentionMs", () =>
  withTempDir(async (dir) => {
    let nowMs = 1_000_000;
    const options = { segmentBytesMax: 400, retentionMs: 60_000, clock: () => nowMs };
    const log = await openLog(dir, options);
    for (let i = 0; i < 20; i++) await log.append([valueOf(i)]);
    const segmentsOld = log.stats().segments;
    nowMs += 120_000;
    for (let i = 20; i < 25; i++) await log.append([valueOf(i)]);
    await log.enforceRetention();
    const stats = log.stats();
    assert(stats.segments < segmentsOld, "old segments went");
    assert(stats.firstOffset > 0 && stats.firstOffset <= 20, "nothing newer than the limit went");
    nowMs += 30_000;
    await log.enforceRetention();
    assertEquals(log.stats().firstOffset, stats.firstOffset, "young segments stay");
    await log.close();
    const reopened = await openLog(dir, options);
    assertEquals(reopened.firstOffset(), stats.firstOffset);
    await reopened.close();
  }));

Deno.test("FileLog keeps truncation, prefix deletion and restart across reopen", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 400 });
    for (let i = 0; i < 30; i++) await log.append([valueOf(i)], { term: 1 + (i >> 3) });
    await log.truncateSuffix(25);
    await log.deletePrefix(12);
    const first = log.firstIndex();
    await log.close();
    const reopened = await openLog(dir, { segmentBytesMax: 400 });
    assertEquals([reopened.firstIndex(), reopened.lastIndex(), reopened.nextOffset()], [
      first,
      24,
      24,
    ]);
    assertEquals(reopened.termAt(first - 1), 1 + ((first - 2) >> 3));
    await reopened.restartAt(500, 9, 7000);
    await reopened.close();
    const restarted = await openLog(dir);
    assertEquals([restarted.firstIndex(), restarted.termAt(500), restarted.nextOffset()], [
      501,
      9,
      7000,
    ]);
    assertEquals((await storeFiles(dir)).length, 1);
    await restarted.close();
  }));

Deno.test("FileLog finishes a restart interrupted after its marker was written", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    await log.append([bytes("old")]);
    await log.close();
    await Deno.writeTextFile(
      `${dir}/RESTART`,
      JSON.stringify({ index: 40, term: 3, nextOffset: 90 }),
    );
    const reopened = await openLog(dir);
    assertEquals([reopened.firstIndex(), reopened.termAt(40), reopened.nextOffset()], [41, 3, 90]);
    await reopened.close();
  }));

Deno.test("FileLog reads records of many sizes in sequence and at random", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 64 * 1024, fsync: { mode: "never" } });
    const sizes = [0, 1, 100, 1024, 5000, 70_000];
    let offset = 0;
    for (let round = 0; round < 3; round++) {
      const batch = sizes.map((size, i) => new Uint8Array(size).fill(round * 10 + i));
      await log.append(batch);
      offset += batch.length;
    }
    let seen = 0;
    let next = 0;
    // Bounded: every readFrom returns at least one record until the tail.
    while (next < offset && seen < offset) {
      for (const record of log.readFrom(next, 10_000)) {
        const round = Math.floor(record.offset / sizes.length);
        const i = record.offset % sizes.length;
        assertEquals(record.value.length, sizes[i]);
        assert(record.value.every((b) => b === round * 10 + i), `bytes of offset ${record.offset}`);
        next = record.offset + 1;
        seen += 1;
      }
    }
    assertEquals(seen, offset);
    for (const o of [17, 3, 11, 0, 5]) assertEquals(log.read(o).value.length, sizes[o % 6]);
    await log.close();
  }));

Deno.test("FileLog under interval=<ms> fsyncs written appends on its timer", () =>
  withTempDir(async (dir) => {
    let syncs = 0;
    const observer = { onIntervalSync: () => syncs += 1 };
    const log = await openLog(dir, { fsync: { mode: "interval", intervalMs: 2 }, observer });
    await log.append([bytes("a")]);
    const deadline = Date.now() + 10_000;
    // Polls the observed count with a deadline (the timer is the thing under test).
    while (syncs === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert(syncs >= 1, "the interval timer fsynced the dirty log");
    const before = syncs;
    await log.close();
    assertEquals(syncs, before, "no timer sync after close");
  }));

Deno.test("FileLog stops taking writes after a failed write, keeps reading, still closes", () =>
  withTempDir(async (dir) => {
    const dataDir = `${dir}/data`;
    const log = await openLog(dataDir, { segmentBytesMax: 200 });
    await log.append([valueOf(1)]);
    await log.append([valueOf(2)]);
    // The next roll must create files in a directory that no longer exists: a write failure.
    await Deno.remove(dataDir, { recursive: true });
    let failed = false;
    for (let i = 0; i < 5 && !failed; i++) {
      failed = await log.append([valueOf(3)]).then(() => false, () => true);
    }
    assert(failed, "an append failed once the segment could not roll");
    await assertRejectsLog(log.append([valueOf(4)]), "CLOSED", "a write failed");
    await assertRejectsLog(log.truncateSuffix(1), "CLOSED", "a write failed");
    assertEquals(log.read(0).value, valueOf(1), "reads go on from open handles");
    await log.close();
  }));

Deno.test("FileLog shows an append to readers only once it has resolved", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    const pending = log.append([bytes("a")]);
    assertEquals(log.nextOffset(), 0, "not visible while its group is being written");
    await pending;
    assertEquals(log.nextOffset(), 1);
    await log.close();
  }));

Deno.test("FileLog never serves cached entries that a truncation replaced", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    for (let i = 0; i < 10; i++) await log.append([bytes(`old${i}`)], { term: 1 });
    assertEquals(text(log.read(7).value), "old7");
    assertEquals(log.entries(6, 9, 1 << 20).length, 3);
    await log.truncateSuffix(5);
    for (let i = 4; i < 10; i++) await log.append([bytes(`new${i}`)], { term: 2 });
    assertEquals(text(log.read(7).value), "new7");
    assertEquals(log.entries(8, 9, 1 << 20)[0]!.term, 2);
    assertEquals(log.readFrom(3, 1 << 20).map((r) => text(r.value)).slice(0, 2), ["old3", "new4"]);
    await log.close();
  }));
