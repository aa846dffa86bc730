import { openLog } from "../../log/mod.ts";
import { assertEquals, assertThrowsLog, bytes } from "./_assert.ts";
import { forgetCleanClose, indexOf, storeFiles, valueOf, withTempDir } from "./_fixtures.ts";

const OPTIONS = { segmentBytesMax: 1500, fsync: { mode: "never" } } as const;

/** Writes `count` single-record entries and closes. */
async function fill(dir: string, count: number): Promise<void> {
  const log = await openLog(dir, OPTIONS);
  for (let i = 0; i < count; i++) await log.append([valueOf(i)]);
  await log.close();
}

/** Reopens, checks offsets [0, count) hold their values and the log ends there, appends. */
async function expectPrefix(dir: string, count: number): Promise<void> {
  const log = await openLog(dir, OPTIONS);
  assertEquals([log.lastIndex(), log.nextOffset()], [count, count]);
  for (let i = 0; i < count; i++) assertEquals(log.read(i).value, valueOf(i), `offset ${i}`);
  assertEquals(await log.append([bytes("after")]), { baseOffset: count, index: count + 1 });
  await log.close();
  const again = await openLog(dir, OPTIONS);
  assertEquals(again.nextOffset(), count + 1, "the recovered log reopens cleanly");
  await again.close();
}

async function lastStore(dir: string): Promise<string> {
  const stores = await storeFiles(dir);
  return stores[stores.length - 1]!;
}

Deno.test("recovery cuts a torn last frame at every cut point", async () => {
  const frameBytes = 48 + 4 + valueOf(59).length;
  for (const cut of [1, 2, 8, 30, 47, 48, 49, frameBytes - 1]) {
    await withTempDir(async (dir) => {
      await fill(dir, 60);
      const store = await lastStore(dir);
      const size = (await Deno.stat(store)).size;
      await Deno.truncate(store, size - cut);
      await forgetCleanClose(dir);
      await expectPrefix(dir, 59);
    });
  }
});

Deno.test("recovery cuts garbage after the last frame", () =>
  withTempDir(async (dir) => {
    await fill(dir, 40);
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 89 + 7) & 0xff);
    await Deno.writeFile(await lastStore(dir), garbage, { append: true });
    await forgetCleanClose(dir);
    await expectPrefix(dir, 40);
  }));

Deno.test("a zero-filled index tail is never read as entries (proglog's failure)", async () => {
  for (const clean of [true, false]) {
    await withTempDir(async (dir) => {
      await fill(dir, 50);
      for (const store of await storeFiles(dir)) {
        await Deno.writeFile(indexOf(store), new Uint8Array(24 * 100), { append: true });
      }
      if (!clean) await forgetCleanClose(dir);
      await expectPrefix(dir, 50);
    });
  }
});

Deno.test("recovery rebuilds a missing or shortened index from its store", async () => {
  for (const damage of ["remove", "shorten", "garbage"] as const) {
    await withTempDir(async (dir) => {
      await fill(dir, 50);
      const stores = await storeFiles(dir);
      for (const store of [stores[0]!, stores[stores.length - 1]!]) {
        const index = indexOf(store);
        if (damage === "remove") await Deno.remove(index);
        if (damage === "shorten") await Deno.truncate(index, 24 * 2 + 5);
        if (damage === "garbage") await Deno.writeFile(index, new Uint8Array(24 * 3).fill(0xab));
      }
      await expectPrefix(dir, 50);
    });
  }
});

Deno.test("after a crash, a corrupt frame in the last segment is kept as CORRUPT, not cut", () =>
  withTempDir(async (dir) => {
    await fill(dir, 30);
    const store = await lastStore(dir);
    const index = await Deno.readFile(indexOf(store));
    const entries = index.length / 24;
    const victim = entries - 3;
    const view = new DataView(index.buffer);
    const position = view.getUint32(victim * 24, true);
    const damagedOffset = view.getUint32(victim * 24 + 8, true);
    const raw = await Deno.readFile(store);
    raw[position + 50]! ^= 0x40;
    await Deno.writeFile(store, raw);
    await forgetCleanClose(dir);
    const reported: string[] = [];
    const log = await openLog(dir, {
      ...OPTIONS,
      observer: { onRecovery: (e) => reported.push(e.kind) },
    });
    assertEquals(reported, ["corrupt"]);
    assertEquals([log.lastIndex(), log.nextOffset()], [30, 30]);
    for (let i = 0; i < 30; i++) {
      if (i === damagedOffset) assertThrowsLog(() => log.read(i), "CORRUPT");
      else assertEquals(log.read(i).value, valueOf(i), `offset ${i}`);
    }
    assertEquals(await log.append([bytes("after")]), { baseOffset: 30, index: 31 });
    await log.close();
  }));

Deno.test("recovery drops index entries past a store cut short by a truncation crash", () =>
  withTempDir(async (dir) => {
    await fill(dir, 30);
    const store = await lastStore(dir);
    const index = await Deno.readFile(indexOf(store));
    const keep = index.length / 24 - 4;
    const position = new DataView(index.buffer).getUint32(keep * 24, true);
    await Deno.truncate(store, position);
    await expectPrefix(dir, 30 - 4);
  }));

Deno.test("recovery drops a new segment whose header never became durable", () =>
  withTempDir(async (dir) => {
    await fill(dir, 30);
    const stores = await storeFiles(dir);
    const next = stores[stores.length - 1]!.replace(/\d{20}/, "00000000000000000031");
    await Deno.writeFile(next, bytes("STRND"));
    await forgetCleanClose(dir);
    await expectPrefix(dir, 30);
  }));
