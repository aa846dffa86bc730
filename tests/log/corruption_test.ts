import { LogError, openLog } from "../../log/mod.ts";
import { SeededRandom } from "../sim/random.ts";
import { assert, assertEquals, assertRejectsLog, assertThrowsLog, bytes } from "./_assert.ts";
import { forgetCleanClose, indexOf, storeFiles, valueOf, withTempDir } from "./_fixtures.ts";

const OPTIONS = { segmentBytesMax: 2000, fsync: { mode: "never" } } as const;
const RECORDS = 120;

/** Offsets of the records in the frame of `storePath` that covers byte `position`. */
async function offsetsCoveredBy(storePath: string, position: number): Promise<number[]> {
  const index = await Deno.readFile(indexOf(storePath));
  const view = new DataView(index.buffer);
  const entries = index.length / 24;
  let k = 0;
  while (k + 1 < entries && view.getUint32((k + 1) * 24, true) <= position) k += 1;
  const base = view.getUint32(k * 24 + 8, true);
  const end = k + 1 < entries ? view.getUint32((k + 1) * 24 + 8, true) : Number.NaN;
  // Two records per entry; the last entry of a segment holds two as well.
  return Number.isNaN(end)
    ? [base, base + 1]
    : Array.from({ length: end - base }, (_, i) => base + i);
}

Deno.test("a flipped byte in a sealed segment is CORRUPT for its records only (seeded)", async () => {
  for (let seed = 1; seed <= 12; seed++) {
    await withTempDir(async (dir) => {
      const random = new SeededRandom(seed);
      const log = await openLog(dir, OPTIONS);
      for (let i = 0; i < RECORDS; i += 2) await log.append([valueOf(i), valueOf(i + 1)]);
      await log.close();
      const stores = await storeFiles(dir);
      const sealed = stores[random.intBetween(0, stores.length - 2)]!;
      const raw = await Deno.readFile(sealed);
      const position = random.intBetween(64, raw.length - 1);
      raw[position]! ^= 1 << random.intBetween(0, 7);
      await Deno.writeFile(sealed, raw);
      const covered = await offsetsCoveredBy(sealed, position);
      if (seed % 2 === 0) await forgetCleanClose(dir);
      const reopened = await openLog(dir, OPTIONS);
      const corrupt: number[] = [];
      for (let offset = 0; offset < RECORDS; offset++) {
        try {
          assertEquals(
            reopened.read(offset).value,
            valueOf(offset),
            `seed=${seed} offset ${offset}`,
          );
        } catch (error) {
          assert(error instanceof LogError && error.code === "CORRUPT", `seed=${seed}: ${error}`);
          corrupt.push(offset);
        }
      }
      assertEquals(corrupt, covered, `seed=${seed}: only the records of the damaged frame`);
      const first = covered[0]!;
      if (first > 0) {
        const before = reopened.readFrom(0, 1 << 20).map((record) => record.offset);
        assertEquals(before.length, first, `seed=${seed}: readFrom stops before the damage`);
      }
      assertThrowsLog(() => reopened.readFrom(first, 1 << 20), "CORRUPT");
      assertThrowsLog(() => reopened.entries(first / 2 + 1, first / 2 + 2, 1 << 20), "CORRUPT");
      assertEquals(await reopened.append([bytes("still works")]), {
        baseOffset: RECORDS,
        index: RECORDS / 2 + 1,
      });
      await reopened.close();
    });
  }
});

Deno.test("a sealed segment whose index and store both broke is rebuilt around the damage", async () => {
  for (const clean of [true, false]) {
    await withTempDir(async (dir) => {
      const log = await openLog(dir, OPTIONS);
      for (let i = 0; i < RECORDS; i += 2) await log.append([valueOf(i), valueOf(i + 1)]);
      await log.close();
      const sealed = (await storeFiles(dir))[0]!;
      await Deno.truncate(indexOf(sealed), 24 * 3);
      const raw = await Deno.readFile(sealed);
      raw[64 + 2]! ^= 0xff; // the first frame's length: found again by scanning
      await Deno.writeFile(sealed, raw);
      if (!clean) await forgetCleanClose(dir);
      const kinds: string[] = [];
      const options = {
        ...OPTIONS,
        observer: { onRecovery: (e: { kind: string }) => kinds.push(e.kind) },
      };
      const reopened = await openLog(dir, options);
      assertEquals(kinds, ["index_rebuilt", "corrupt"], `clean=${clean}`);
      assertThrowsLog(() => reopened.read(0), "CORRUPT");
      assertThrowsLog(() => reopened.read(1), "CORRUPT");
      for (let offset = 2; offset < RECORDS; offset++) {
        assertEquals(reopened.read(offset).value, valueOf(offset), `offset ${offset}`);
      }
      assertEquals(reopened.nextOffset(), RECORDS);
      await reopened.close();
    });
  }
});

Deno.test("a damaged segment header fails the open with CORRUPT", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, OPTIONS);
    for (let i = 0; i < RECORDS; i += 2) await log.append([valueOf(i), valueOf(i + 1)]);
    await log.close();
    const sealed = (await storeFiles(dir))[0]!;
    const raw = await Deno.readFile(sealed);
    raw[20]! ^= 0x01; // inside the base index field, covered by the header checksum
    await Deno.writeFile(sealed, raw);
    await assertRejectsLog(openLog(dir, OPTIONS), "CORRUPT", "header fails its checksum");
    const other = await openLog(`${dir}/other`, OPTIONS);
    await other.close();
  }));
