/**
 * `deno task bench log`: throughput and open-time benchmarks of the file log, with the disk's
 * own limits measured in the same run (a raw write+fdatasync loop of the same record size and
 * a raw sequential write) so our figures read as ratios, which survive a noisy shared machine.
 *
 * The fsync baseline is re-measured next to every `always` case (the mean of the run-wide and
 * the adjacent measurement), because a shared disk's fsync rate swings from moment to moment.
 * Prints a table and one JSON line per figure:
 * `{"name":"log.append.always.c64.100B","value":123456,"unit":"records/s"}`.
 * The open suite also times the worst-case resynchronisation: a 16 MiB garbage tail after a crash.
 * Flags: `--quick` (short runs, 256 MiB log for the open test), `--skip-open`, `--skip-read`,
 * `--only=<text>` (only the append cases whose name contains it).
 * @module
 */

import { type FsyncPolicy, openLog } from "../log/mod.ts";

const QUICK = Deno.args.includes("--quick");
const ONLY = Deno.args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length) ?? "";
const RUN_MS = QUICK ? 300 : 1000;
const OPEN_LOG_BYTES = QUICK ? 256 * 1024 * 1024 : 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}
const figures: Figure[] = [];

function report(name: string, value: number, unit: string): void {
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Number(value.toFixed(3));
  figures.push({ name, value: rounded, unit });
  console.log(`${name.padEnd(48)} ${String(rounded).padStart(12)} ${unit}`);
}

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "strand-bench-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---- the disk's own limits -----------------------------------------------------------------

/** Write + fdatasync of `size` bytes in a loop: the disk's synced appends per second. */
async function rawSyncedWrites(size: number, runMs: number): Promise<number> {
  return await withDir(async (dir) => {
    const file = await Deno.open(`${dir}/raw`, { write: true, create: true, append: true });
    const bytes = new Uint8Array(size).fill(7);
    const started = performance.now();
    let count = 0;
    // Bounded by the run time.
    while (performance.now() - started < runMs) {
      file.writeSync(bytes);
      await file.syncData();
      count += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    file.close();
    return count / seconds;
  });
}

/** Sequential 1 MiB writes then one fdatasync: the disk's sequential write bandwidth. */
async function rawSequentialWrite(): Promise<number> {
  return await withDir(async (dir) => {
    const file = await Deno.open(`${dir}/raw`, { write: true, create: true });
    const chunk = new Uint8Array(MIB).fill(9);
    const totalBytes = (QUICK ? 128 : 512) * MIB;
    const started = performance.now();
    for (let written = 0; written < totalBytes; written += MIB) {
      let done = 0;
      while (done < MIB) done += await file.write(chunk.subarray(done));
    }
    await file.syncData();
    const seconds = (performance.now() - started) / 1000;
    file.close();
    return totalBytes / MIB / seconds;
  });
}

// ---- appends -------------------------------------------------------------------------------

interface AppendCase {
  readonly policy: FsyncPolicy;
  readonly appenders: number;
  readonly batch: number;
  readonly size: number;
}

/** Appenders each append `batch` records of `size` bytes back to back for RUN_MS. */
async function appendThroughput(
  c: AppendCase,
): Promise<{ records: number; mb: number; entriesPerGroup: number }> {
  return await withDir(async (dir) => {
    let groups = 0;
    let grouped = 0;
    const observer = {
      onGroupCommit: (event: { entries: number }) => {
        groups += 1;
        grouped += event.entries;
      },
    };
    const log = await openLog(dir, { fsync: c.policy, observer });
    const batch = Array.from({ length: c.batch }, (_, i) => new Uint8Array(c.size).fill(i));
    let records = 0;
    const started = performance.now();
    const appender = async () => {
      // Bounded by the run time.
      while (performance.now() - started < RUN_MS) {
        await log.append(batch);
        records += c.batch;
      }
    };
    await Promise.all(Array.from({ length: c.appenders }, appender));
    const seconds = (performance.now() - started) / 1000;
    await log.close();
    return {
      records: records / seconds,
      mb: (records * c.size) / MIB / seconds,
      entriesPerGroup: grouped / Math.max(1, groups),
    };
  });
}

function sizeName(size: number): string {
  return size >= 1024 ? `${size / 1024}KiB` : `${size}B`;
}

async function appendSuite(raw: Map<number, number>, sequentialMb: number): Promise<void> {
  for (const size of [100, 1024]) {
    for (const policy of [{ mode: "always" }, { mode: "never" }] as FsyncPolicy[]) {
      for (const appenders of [1, 64]) {
        for (const batch of [1, 16, 256]) {
          const batchPart = batch === 1 ? "" : `.b${batch}`;
          const name = `log.append.${policy.mode}.c${appenders}${batchPart}.${sizeName(size)}`;
          if (!name.includes(ONLY)) continue;
          const result = await appendThroughput({ policy, appenders, batch, size });
          report(name, result.records, "records/s");
          report(`${name}.bytes`, result.mb, "MB/s");
          if (policy.mode === "always") {
            // The disk's fsync rate swings with the neighbours' load: measure it right here.
            const rawNow = (raw.get(size)! + await rawSyncedWrites(size, RUN_MS / 2)) / 2;
            report(`${name}.vs_raw_fsync`, result.records / rawNow, "ratio");
            report(`${name}.entries_per_fsync`, result.entriesPerGroup, "entries");
          } else {
            report(`${name}.vs_raw_write`, result.mb / sequentialMb, "ratio");
          }
        }
      }
    }
  }
}

// ---- reads ---------------------------------------------------------------------------------

async function readSuite(): Promise<void> {
  for (
    const [size, count] of [[100, QUICK ? 200_000 : 500_000], [1024, QUICK ? 50_000 : 200_000]]
  ) {
    await withDir(async (dir) => {
      const writer = await openLog(dir, { fsync: { mode: "never" } });
      const batch = Array.from({ length: 256 }, (_, i) => new Uint8Array(size!).fill(i));
      for (let written = 0; written < count!; written += 256) await writer.append(batch);
      await writer.close();
      const log = await openLog(dir);
      const total = log.nextOffset();
      let started = performance.now();
      let offset = 0;
      let bytes = 0;
      // Each readFrom returns at least one record, so this ends within `total` calls.
      while (offset < total) {
        const records = log.readFrom(offset, MIB);
        for (const record of records) bytes += record.value.length;
        offset += records.length;
      }
      let seconds = (performance.now() - started) / 1000;
      report(`log.read.sequential.${sizeName(size!)}`, total / seconds, "records/s");
      report(`log.read.sequential.${sizeName(size!)}.bytes`, bytes / MIB / seconds, "MB/s");
      const reads = QUICK ? 20_000 : 100_000;
      let state = 12345;
      started = performance.now();
      for (let i = 0; i < reads; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        log.read(state % total);
      }
      seconds = (performance.now() - started) / 1000;
      report(`log.read.random.${sizeName(size!)}`, reads / seconds, "records/s");
      await log.close();
    });
  }
}

// ---- open time and memory of a large log ---------------------------------------------------

async function openSuite(): Promise<void> {
  await withDir(async (dir) => {
    const writer = await openLog(dir, { fsync: { mode: "never" } });
    const batch = Array.from({ length: 256 }, (_, i) => new Uint8Array(1024).fill(i));
    // Bounded: each append adds 256 KiB.
    while (writer.stats().bytes < OPEN_LOG_BYTES) await writer.append(batch);
    const stats = writer.stats();
    await writer.close();
    const label = `${Math.round(stats.bytes / MIB)}MiB`;
    console.log(`# open: a log of ${label} in ${stats.segments} segments`);
    const clean = await openInChild(dir);
    report(`log.open.clean.${label}`, clean.openMs, "ms");
    report(`log.open.clean.${label}.rss`, clean.rssBytes / MIB, "MB");
    await Deno.remove(`${dir}/CLEAN`);
    const crashed = await openInChild(dir);
    report(`log.open.recover.${label}`, crashed.openMs, "ms");
    report(`log.open.recover.${label}.rss`, crashed.rssBytes / MIB, "MB");
  });
}

/** Worst-case crash recovery: one almost full 64 MiB segment of small frames to verify. */
async function recoverFullSegment(): Promise<void> {
  await withDir(async (dir) => {
    const writer = await openLog(dir, { fsync: { mode: "never" } });
    const batch = Array.from({ length: 16 }, (_, i) => new Uint8Array(100).fill(i));
    const bytesMax = (QUICK ? 16 : 63) * MIB;
    // Bounded: each append adds ~1.7 KiB.
    while (writer.stats().bytes < bytesMax) await writer.append(batch);
    const entries = writer.lastIndex();
    await writer.close();
    await Deno.remove(`${dir}/CLEAN`);
    const crashed = await openInChild(dir);
    const label = `${Math.round(bytesMax / MIB)}MiB_segment`;
    console.log(`# recover: one segment of ${entries} entries`);
    report(`log.open.recover.${label}`, crashed.openMs, "ms");
    report(`log.open.recover.${label}.rss`, crashed.rssBytes / MIB, "MB");
  });
}

/**
 * Worst-case resynchronisation after a crash: a last segment whose tail is 16 MiB of noise
 * (nothing valid after it), so recovery tries every byte position before cutting it.
 */
async function recoverGarbageTail(): Promise<void> {
  await withDir(async (dir) => {
    const writer = await openLog(dir, { fsync: { mode: "never" } });
    const batch = Array.from({ length: 16 }, (_, i) => new Uint8Array(100).fill(i));
    // Bounded: each append adds ~1.7 KiB.
    while (writer.stats().bytes < MIB) await writer.append(batch);
    await writer.close();
    const noise = new Uint8Array(16 * MIB);
    let state = 99;
    for (let i = 0; i < noise.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      noise[i] = state >>> 24;
    }
    const store = [...Deno.readDirSync(dir)].find((item) => item.name.endsWith(".store"))!;
    await Deno.writeFile(`${dir}/${store.name}`, noise, { append: true });
    await Deno.remove(`${dir}/CLEAN`);
    const crashed = await openInChild(dir);
    report("log.open.recover.16MiB_garbage_tail", crashed.openMs, "ms");
  });
}

/** Opens the log in a fresh process (so RSS is the open's alone) and reads its report. */
async function openInChild(dir: string): Promise<{ openMs: number; rssBytes: number }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--open-child", dir],
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("the open child failed");
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

async function openChild(dir: string): Promise<void> {
  const started = performance.now();
  // Recovery events (the garbage tail's cut) are expected here, not news.
  const log = await openLog(dir, { observer: { onRecovery: () => {} } });
  const openMs = performance.now() - started;
  const rssBytes = Deno.memoryUsage().rss;
  await log.close();
  console.log(JSON.stringify({ openMs, rssBytes }));
}

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const childAt = Deno.args.indexOf("--open-child");
  if (childAt >= 0) return await openChild(Deno.args[childAt + 1]!);
  console.log(`${"figure".padEnd(48)} ${"value".padStart(12)} unit`);
  const raw = new Map<number, number>();
  for (const size of [100, 1024]) {
    raw.set(size, await rawSyncedWrites(size, RUN_MS));
    report(`disk.write_fdatasync.${sizeName(size)}`, raw.get(size)!, "ops/s");
  }
  const sequentialMb = await rawSequentialWrite();
  report("disk.write_sequential", sequentialMb, "MB/s");
  await appendSuite(raw, sequentialMb);
  if (!Deno.args.includes("--skip-read")) await readSuite();
  if (!Deno.args.includes("--skip-open")) {
    await openSuite();
    await recoverFullSegment();
    await recoverGarbageTail();
  }
  console.log("");
  for (const figure of figures) console.log(JSON.stringify(figure));
}

if (import.meta.main) await main();
