/**
 * Damage found when opening after a crash (no `CLEAN`) and after a clean close: a damaged
 * frame that intact frames follow is acknowledged data and is kept as `CORRUPT`, never cut;
 * only a torn tail (nothing valid after the damage) is cut, and both are reported.
 * @module
 */

import {
  DENO_FS,
  LogError,
  type LogFile,
  type LogFs,
  type LogOptions,
  openLog,
  type RecoveryEvent,
} from "../../log/mod.ts";
import { assert, assertEquals, assertThrowsLog, bytes } from "./_assert.ts";
import { forgetCleanClose, indexOf, storeFiles, withTempDir } from "./_fixtures.ts";

const MIB = 1024 * 1024;

/** A deterministic 120-byte value for record `i`. */
function value120(i: number): Uint8Array {
  return new TextEncoder().encode(`record-${i}-`.padEnd(120, String.fromCharCode(97 + (i % 26))));
}

/** Options that collect recovery events into `events`. */
function collecting(events: RecoveryEvent[], extra: LogOptions = {}): LogOptions {
  return { fsync: { mode: "never" }, ...extra, observer: { onRecovery: (e) => events.push(e) } };
}

/** Frame positions and base offsets from a store's index file (written by a clean close). */
async function frames(store: string): Promise<{ position: number; baseOffset: number }[]> {
  const index = await Deno.readFile(indexOf(store));
  const view = new DataView(index.buffer);
  return Array.from({ length: index.length / 24 }, (_, k) => ({
    position: view.getUint32(k * 24, true),
    baseOffset: view.getUint32(k * 24 + 8, true),
  }));
}

/** XORs `count` bytes of `path` from `position` with 0xff. */
async function xorBytes(path: string, position: number, count: number): Promise<void> {
  const raw = await Deno.readFile(path);
  for (let i = position; i < position + count; i++) raw[i]! ^= 0xff;
  await Deno.writeFile(path, raw);
}

/**
 * Reads every offset below `total`: each must read back its original bytes at its own
 * offset, except the ones in `corrupt`, which must fail with CORRUPT.
 */
function expectReads(
  log: { read(offset: number): { value: Uint8Array; offset: number } },
  total: number,
  corrupt: ReadonlySet<number>,
  valueOf: (i: number) => Uint8Array,
  what: string,
): void {
  for (let offset = 0; offset < total; offset++) {
    if (corrupt.has(offset)) {
      assertThrowsLog(() => log.read(offset), "CORRUPT");
      continue;
    }
    const record = log.read(offset);
    assertEquals(record.offset, offset, `${what}: offset ${offset}`);
    assertEquals(record.value, valueOf(offset), `${what}: the bytes of offset ${offset}`);
  }
}

Deno.test("after a crash, acknowledged records after a damaged frame are kept, not cut (10,000 records, 1 MiB segments, 4 bytes XORed at 500000)", async () => {
  for (const clean of [false, true]) {
    await withTempDir(async (dir) => {
      const events: RecoveryEvent[] = [];
      const options = collecting(events, { segmentBytesMax: MIB });
      const log = await openLog(dir, options);
      for (let i = 0; i < 10_000; i++) {
        assertEquals((await log.append([value120(i)])).baseOffset, i);
      }
      await log.close();
      const stores = await storeFiles(dir);
      assert(stores.length >= 2, "the log spans sealed segments");
      const last = stores[stores.length - 1]!;
      const layout = await frames(last);
      const hit = layout.findLastIndex((frame) => frame.position <= 500_000);
      assert(hit >= 0 && hit < layout.length - 100, "the damage leaves intact frames after it");
      const damaged = layout[hit]!.baseOffset;
      await xorBytes(last, 500_000, 4);
      if (!clean) await forgetCleanClose(dir);

      const reopened = await openLog(dir, options);
      const what = clean ? "with CLEAN" : "after a crash";
      assertEquals(reopened.nextOffset(), 10_000, `${what}: no offset is given back`);
      expectReads(reopened, 10_000, new Set([damaged]), value120, what);
      assertEquals(events.filter((e) => e.kind === "tail_cut"), [], `${what}: nothing is cut`);
      if (!clean) {
        const corrupt = events.filter((e) => e.kind === "corrupt");
        assertEquals(corrupt.length, 1, "the damaged batch is reported");
        const event = corrupt[0]!;
        assert(event.kind === "corrupt");
        assertEquals([event.firstOffset, event.endOffset], [damaged, damaged + 1]);
        assert(event.message.includes(`offsets ${damaged} to ${damaged}`), event.message);
      }
      assertEquals(await reopened.append([bytes("fresh")]), { baseOffset: 10_000, index: 10_001 });
      await reopened.close();

      // And again after a crash: the kept range is found again, nothing moves.
      await forgetCleanClose(dir);
      const again = await openLog(dir, options);
      assertEquals(again.nextOffset(), 10_001);
      assertThrowsLog(() => again.read(damaged), "CORRUPT");
      assertEquals(again.read(10_000).value, bytes("fresh"));
      assertEquals(again.read(9_999).value, value120(9_999));
      await again.close();
    });
  }
});

const SMALL = { segmentBytesMax: 4000 } as const;
const RECORDS = 120;

/** Files of a log of RECORDS records, two per entry, in several segments; closed cleanly. */
let template: Promise<Map<string, Uint8Array>> | null = null;

/** Writes the template log's files into `dir` (built once: fsyncs are slow on a busy disk). */
async function fillPairs(dir: string): Promise<void> {
  template ??= withTempDirResult(async (source) => {
    const log = await openLog(source, { ...SMALL, fsync: { mode: "never" } });
    for (let i = 0; i < RECORDS; i += 2) await log.append([value120(i), value120(i + 1)]);
    await log.close();
    const files = new Map<string, Uint8Array>();
    for await (const item of Deno.readDir(source)) {
      if (item.name !== "LOCK") files.set(item.name, await Deno.readFile(`${source}/${item.name}`));
    }
    return files;
  });
  for (const [name, content] of await template) await Deno.writeFile(`${dir}/${name}`, content);
}

async function withTempDirResult<T>(body: (dir: string) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await withTempDir(async (dir) => {
    result = await body(dir);
  });
  return result!;
}

/** Byte positions inside a frame, by the field they hit. */
const FIELDS = {
  length: 1,
  lengthHigh: 3,
  checksum: 5,
  kind: 8,
  recordCount: 12,
  term: 17,
  index: 25,
  baseOffset: 33,
  timestamp: 41,
  recordLength: 49,
  payload: 150,
} as const;

interface Damage {
  readonly segment: "sealed" | "last";
  readonly frame: "first" | "middle" | "last";
  readonly field: keyof typeof FIELDS;
  readonly clean: boolean;
}

/** Every field of the first, a middle and the last frame of a sealed and the last segment. */
function damages(): Damage[] {
  const all: Damage[] = [];
  for (const segment of ["sealed", "last"] as const) {
    for (const frame of ["first", "middle", "last"] as const) {
      for (const field of Object.keys(FIELDS) as (keyof typeof FIELDS)[]) {
        for (const clean of [false, true]) all.push({ segment, frame, field, clean });
      }
    }
  }
  return all;
}

Deno.test("damage at every frame position, with and without CLEAN: only a torn tail is cut", async () => {
  for (const damage of damages()) {
    const what = JSON.stringify(damage);
    await withTempDir(async (dir) => {
      await fillPairs(dir);
      const stores = await storeFiles(dir);
      const store = damage.segment === "last" ? stores[stores.length - 1]! : stores[1]!;
      const layout = await frames(store);
      const k = damage.frame === "first" ? 0 : damage.frame === "last" ? layout.length - 1 : 2;
      const base = layout[k]!.baseOffset;
      await xorBytes(store, layout[k]!.position + FIELDS[damage.field], 1);
      if (!damage.clean) await forgetCleanClose(dir);
      const events: RecoveryEvent[] = [];
      const log = await openLog(dir, collecting(events, SMALL));
      const torn = !damage.clean && damage.segment === "last" && damage.frame === "last";
      if (torn) {
        // Nothing valid after it: a crash's torn tail, cut and reported.
        assertEquals(log.nextOffset(), base, what);
        assertEquals(events.map((e) => [e.kind, "firstOffset" in e ? e.firstOffset : -1]), [[
          "tail_cut",
          base,
        ]], what);
        expectReads(log, base, new Set(), value120, what);
      } else {
        const next = log.nextOffset();
        assert(next >= RECORDS, `${what}: an offset was given back (${next})`);
        // Only a cleanly closed last frame whose header broke reserves more (count unknown).
        if (!(damage.clean && damage.segment === "last" && damage.frame === "last")) {
          assertEquals(next, RECORDS, what);
        }
        const corrupt = new Set([base, base + 1]);
        for (let o = RECORDS; o < next; o++) corrupt.add(o);
        expectReads(log, RECORDS, corrupt, value120, what);
        for (let o = RECORDS; o < next; o++) assertThrowsLog(() => log.read(o), "CORRUPT");
        assertEquals(events.filter((e) => e.kind === "tail_cut"), [], what);
        // Reported once: at open, or by the first read through a trusted index that failed.
        const kept = events.filter((e) => e.kind === "corrupt");
        assertEquals(kept.map((e) => e.kind === "corrupt" && e.firstOffset), [base], what);
        if (base + 2 < RECORDS) assertEquals(log.readFrom(base + 2, 1)[0]!.offset, base + 2, what);
        assertThrowsLog(() => log.readFrom(base, 1 << 20), "CORRUPT");
      }
      const fresh = await log.append([bytes("fresh")]);
      assertEquals(fresh.baseOffset, log.nextOffset() - 1, what);
      await log.close();
    });
  }
});

Deno.test("a zeroed run across three frames after a crash reserves their offsets, keeps the rest", async () => {
  for (const clean of [false, true]) {
    await withTempDir(async (dir) => {
      await fillPairs(dir);
      const stores = await storeFiles(dir);
      const store = stores[stores.length - 1]!;
      const layout = await frames(store);
      const raw = await Deno.readFile(store);
      // From inside frame 1 to inside frame 3: frames 1, 2 and 3 are damaged, 4 on intact.
      raw.fill(0, layout[1]!.position + 60, layout[3]!.position + 10);
      await Deno.writeFile(store, raw);
      if (!clean) await forgetCleanClose(dir);
      const events: RecoveryEvent[] = [];
      const log = await openLog(dir, collecting(events, SMALL));
      const first = layout[1]!.baseOffset;
      const damaged = new Set(Array.from({ length: 6 }, (_, i) => first + i));
      assertEquals(log.nextOffset(), RECORDS, `clean=${clean}`);
      expectReads(log, RECORDS, damaged, value120, `clean=${clean}`);
      if (!clean) {
        assertEquals(
          events.map((e) =>
            e.kind === "corrupt" && [e.firstIndex, e.endIndex, e.firstOffset, e.endOffset]
          ),
          [[first / 2 + 1, first / 2 + 4, first, first + 6]],
        );
      }
      assertEquals((await log.append([bytes("fresh")])).baseOffset, RECORDS);
      await log.close();
    });
  }
});

Deno.test("a garbage length field is skipped by finding the next frame that continues the log", async () => {
  // 584: the length of two frames, so the declared end is the start of an intact frame that
  // does not follow the damaged one (the one between would be lost if it were believed).
  for (const garbage of [0, 7, 0xffff_fff0, 200, 2 * 296 - 8]) {
    await withTempDir(async (dir) => {
      await fillPairs(dir);
      const stores = await storeFiles(dir);
      const store = stores[stores.length - 1]!;
      const layout = await frames(store);
      const raw = await Deno.readFile(store);
      new DataView(raw.buffer).setUint32(layout[2]!.position, garbage, true);
      await Deno.writeFile(store, raw);
      await forgetCleanClose(dir);
      const log = await openLog(dir, collecting([], SMALL));
      const base = layout[2]!.baseOffset;
      expectReads(log, RECORDS, new Set([base, base + 1]), value120, `length ${garbage}`);
      assertEquals(log.nextOffset(), RECORDS);
      await log.close();
    });
  }
});

Deno.test("a store cut short in a sealed segment keeps the missing entries as CORRUPT", () =>
  withTempDir(async (dir) => {
    await fillPairs(dir);
    const sealed = (await storeFiles(dir))[1]!;
    const layout = await frames(sealed);
    await Deno.truncate(sealed, layout[layout.length - 2]!.position);
    await Deno.remove(indexOf(sealed));
    const events: RecoveryEvent[] = [];
    const log = await openLog(dir, collecting(events, SMALL));
    const lost = layout[layout.length - 2]!.baseOffset;
    const damaged = new Set([lost, lost + 1, lost + 2, lost + 3]);
    expectReads(log, RECORDS, damaged, value120, "cut sealed store");
    assertEquals(events.map((e) => e.kind), ["index_rebuilt", "corrupt"]);
    assertEquals(log.nextOffset(), RECORDS);
    await log.close();
  }));

Deno.test("LogError CORRUPT is what reads of a kept damaged range throw", () =>
  withTempDir(async (dir) => {
    await fillPairs(dir);
    const stores = await storeFiles(dir);
    const store = stores[stores.length - 1]!;
    const layout = await frames(store);
    await xorBytes(store, layout[1]!.position + 100, 1);
    await forgetCleanClose(dir);
    const log = await openLog(dir, collecting([], SMALL));
    const error = assertThrowsLog(() => log.read(layout[1]!.baseOffset), "CORRUPT");
    assert(error instanceof LogError);
    await log.close();
  }));

/** Ways to damage an index file whose store is intact. */
const INDEX_DAMAGES: Record<string, (index: Uint8Array) => Uint8Array> = {
  "a zeroed middle entry": (index) => index.fill(0, 24 * 3, 24 * 4),
  "a garbage middle entry": (index) => index.fill(0xab, 24 * 3, 24 * 4),
  "a position off by one": (index) => bump(index, 24 * 3, 1),
  "a position one frame on": (index) => bump(index, 24 * 3, 296),
  "a base offset two on": (index) => bump(index, 24 * 3 + 8, 2),
  "a truncated last entry": (index) => index.subarray(0, index.length - 5),
  "all zeros": (index) => index.fill(0),
  "a zeroed tail": (index) => index.fill(0, index.length - 48),
};

function bump(index: Uint8Array, at: number, by: number): Uint8Array {
  const view = new DataView(index.buffer, index.byteOffset);
  view.setUint32(at, view.getUint32(at, true) + by, true);
  return index;
}

/** Every record reads back by point reads, by readFrom from 0, and by entries. */
function expectWholeLog(
  log: {
    read(o: number): { value: Uint8Array; offset: number };
    readFrom(o: number, bytesMax: number): { value: Uint8Array; offset: number }[];
    entries(from: number, to: number, bytesMax: number): { index: number; baseOffset: number }[];
    nextOffset(): number;
  },
  what: string,
): void {
  assertEquals(log.nextOffset(), RECORDS, what);
  // Descending point reads first: each misses the one cached run and searches the index.
  for (let o = RECORDS - 1; o >= 0; o--) assertEquals(log.read(o).value, value120(o), what);
  let offset = 0;
  // Each call returns at least one record.
  while (offset < RECORDS) {
    for (const record of log.readFrom(offset, 1000)) {
      assertEquals([record.offset, record.value], [offset, value120(offset)], what);
      offset += 1;
    }
  }
  const entries = log.entries(1, RECORDS / 2 + 1, 1 << 30);
  assertEquals(entries.map((e) => e.baseOffset), entries.map((e) => (e.index - 1) * 2), what);
  assertEquals(entries.length, RECORDS / 2, what);
}

Deno.test("damaged, zeroed or truncated index entries are rebuilt from verified frames, never trusted", async () => {
  for (const [name, damage] of Object.entries(INDEX_DAMAGES)) {
    for (const segment of ["sealed", "last"] as const) {
      for (const clean of [true, false]) {
        const what = `${name} in the ${segment} segment, clean=${clean}`;
        await withTempDir(async (dir) => {
          await fillPairs(dir);
          const stores = await storeFiles(dir);
          const store = segment === "last" ? stores[stores.length - 1]! : stores[1]!;
          const index = indexOf(store);
          const original = await Deno.readFile(index);
          await Deno.writeFile(index, damage(original.slice()));
          if (!clean) await forgetCleanClose(dir);
          const events: RecoveryEvent[] = [];
          const log = await openLog(dir, collecting(events, SMALL));
          try {
            expectWholeLog(log, what);
          } catch (error) {
            throw new Error(`${what}: ${error}`);
          }
          assertEquals(events.filter((e) => e.kind !== "index_rebuilt"), [], what);
          if (clean || segment === "sealed") {
            assertEquals(events.map((e) => e.kind), ["index_rebuilt"], `${what}: reported`);
          }
          assertEquals((await log.append([bytes("fresh")])).baseOffset, RECORDS, what);
          await log.close();
          const rewritten = await Deno.readFile(index);
          assertEquals(rewritten.subarray(0, original.length), original, `${what}: file rewritten`);
          await forgetCleanClose(dir);
          const again = await openLog(dir, collecting([], SMALL));
          assertEquals(again.read(RECORDS).value, bytes("fresh"), what);
          assertEquals(again.read(7).value, value120(7), what);
          await again.close();
        });
      }
    }
  }
});

Deno.test("two damaged frames in a row are one kept range; the frames after them verify", () =>
  withTempDir(async (dir) => {
    await fillPairs(dir);
    const stores = await storeFiles(dir);
    const store = stores[stores.length - 1]!;
    const layout = await frames(store);
    // Payloads only: both length fields (and headers) stay intact and plausible.
    await xorBytes(store, layout[2]!.position + 100, 1);
    await xorBytes(store, layout[3]!.position + 100, 1);
    await forgetCleanClose(dir);
    const events: RecoveryEvent[] = [];
    const log = await openLog(dir, collecting(events, SMALL));
    const first = layout[2]!.baseOffset;
    assertEquals(
      events.map((e) => e.kind === "corrupt" && [e.firstOffset, e.endOffset, e.bytes]),
      [[first, first + 4, layout[4]!.position - layout[2]!.position]],
    );
    const damaged = new Set([first, first + 1, first + 2, first + 3]);
    expectReads(log, RECORDS, damaged, value120, "two damaged frames");
    await log.close();
  }));

Deno.test("an append queued before an index repair is read back in the same run", () =>
  withTempDir(async (dir) => {
    await fillPairs(dir);
    const stores = await storeFiles(dir);
    const index = indexOf(stores[stores.length - 1]!);
    const raw = await Deno.readFile(index);
    await Deno.writeFile(index, raw.fill(0, 24 * 3, 24 * 4));
    const events: RecoveryEvent[] = [];
    const log = await openLog(dir, collecting(events, SMALL));
    // Queued first, written after the read below has repaired the index in memory.
    const appended = log.append([bytes("queued")]);
    assertEquals(log.read(RECORDS - 1).value, value120(RECORDS - 1));
    for (let o = RECORDS - 1; o >= RECORDS - 16; o--) assertEquals(log.read(o).value, value120(o));
    assertEquals(events.map((e) => e.kind), ["index_rebuilt"]);
    assertEquals((await appended).baseOffset, RECORDS);
    assertEquals(log.read(RECORDS).value, bytes("queued"));
    await log.close();
    const again = await openLog(dir, collecting([], SMALL));
    assertEquals(again.read(RECORDS).value, bytes("queued"));
    expectReads(again, RECORDS, new Set(), value120, "after the rewrite");
    await again.close();
  }));

/** What a failing disk read throws (Deno's own is an OS error: EIO, "Input/output error"). */
class DiskReadError extends Error {}

/** The real file system, except that reads of store files throw EIO while `failing.on`. */
function failingStoreReads(failing: { on: boolean }): LogFs {
  return {
    ...DENO_FS,
    async open(path, options): Promise<LogFile> {
      const file = await DENO_FS.open(path, options);
      if (!path.endsWith(".store")) return file;
      return new Proxy(file, {
        get(target, property) {
          if (property === "readSync" && failing.on) {
            return () => {
              throw new DiskReadError(`EIO: cannot read ${path}`);
            };
          }
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  };
}

Deno.test("a disk read error during an index check fails that read only; a later read checks the index again", () =>
  withTempDir(async (dir) => {
    await fillPairs(dir);
    const stores = await storeFiles(dir);
    const index = indexOf(stores[stores.length - 1]!);
    const raw = await Deno.readFile(index);
    await Deno.writeFile(index, raw.fill(0, 24 * 3, 24 * 4)); // trusted at open (clean close)
    const failing = { on: false };
    const events: RecoveryEvent[] = [];
    const log = await openLog(
      dir,
      collecting(events, { ...SMALL, fs: failingStoreReads(failing) }),
    );
    try {
      failing.on = true; // the read fails, and so does the index check it triggers
      let error: unknown = null;
      try {
        log.read(RECORDS - 1);
      } catch (caught) {
        error = caught;
      }
      assert(error instanceof DiskReadError, `expected the read's own EIO, got ${error}`);
      failing.on = false; // the disk is back: the zeroed index entry is found and rebuilt
      expectReads(log, RECORDS, new Set(), value120, "after the read error");
      assertEquals(events.map((e) => e.kind), ["index_rebuilt"]);
    } finally {
      await log.close();
    }
  }));
