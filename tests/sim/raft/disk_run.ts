/**
 * One seed of the disk simulation: the production `FileLog` (the Raft node's log) over a
 * simulated disk (`_sim_fs.ts`) with seeded limits (segment, index, record and batch sizes,
 * appends in flight), crashes that land inside group commits, rolls and recovery, torn
 * writes, EIO / ENOSPC on write and fsync, latency spikes, and bit flips in sealed segments.
 *
 * Checked after every reopen: every acknowledged record reads back with its bytes at its
 * offset; offsets never go back below an acknowledged one; a log whose write or fsync failed
 * stops taking appends (fail-stop) until reopened; a flipped bit is reported (CORRUPT or
 * DATA_LOSS), never served. `deno task sim:raft --disk --seed N` replays a seed.
 * @module
 */

import { type FileLog, LogError, openLog } from "../../../log/mod.ts";
import { SeededRandom } from "../random.ts";
import { Scheduler } from "./_scheduler.ts";
import { SimFs } from "./_sim_fs.ts";

/** What one seed did, and what it found wrong (empty: every check held). */
export interface DiskRunResult {
  readonly seed: number;
  readonly acknowledged: number;
  readonly crashes: number;
  readonly reopens: number;
  readonly failStops: number;
  readonly detected: number;
  readonly injected: SimFs["injected"];
  readonly violations: string[];
}

const DIR = "/sim/data";
const ROUNDS = 12;
const EVENTS_PER_OP_MAX = 20_000;

/** Seeded limits of one run: small enough that groups split, segments roll, indexes fill. */
function limits(random: SeededRandom) {
  const recordBytesMax = random.intBetween(8, 700);
  return {
    segmentBytesMax: random.intBetween(200, 6000),
    indexBytesMax: 24 * random.intBetween(2, 64),
    recordBytesMax,
    batchBytesMax: recordBytesMax * random.intBetween(1, 6),
    inflightMax: random.intBetween(1, 24),
  };
}

function recordBytes(random: SeededRandom, max: number, tag: number): Uint8Array {
  const bytes = new Uint8Array(random.intBetween(1, max));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (tag * 31 + i * 7) & 0xff;
  return bytes;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Runs the next disk event (none within a simulated minute: time passes, returns 0). */
function step(scheduler: Scheduler): Promise<number> {
  return scheduler.runUntilSettled(scheduler.nowMs + 60_000, 1, () => {});
}

/** Runs the scheduler until `promise` settles (bounded); returns its outcome. */
async function drive<T>(
  scheduler: Scheduler,
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  promise.then((value) => outcome = { ok: true, value }, (error) => outcome = { ok: false, error });
  for (let i = 0; i < EVENTS_PER_OP_MAX && outcome === null; i++) {
    await step(scheduler);
  }
  return outcome ?? { ok: false, error: new Error("the operation never completed") };
}

/** Runs one seed. */
export async function runDiskSeed(options: { seed: number }): Promise<DiskRunResult> {
  const random = new SeededRandom(options.seed);
  const scheduler = new Scheduler();
  const fs = new SimFs(
    random.fork(),
    (ms) => new Promise((resolve) => scheduler.after(ms, resolve)),
  );
  const faulty = random.chance(0.5);
  fs.faults = {
    writeErrorP: faulty ? 0.01 : 0,
    syncErrorP: faulty ? 0.02 : 0,
    spikeP: 0.05,
    spikeMs: 500,
  };
  const limit = limits(random);
  const logOptions = {
    segmentBytesMax: limit.segmentBytesMax,
    indexBytesMax: limit.indexBytesMax,
    recordBytesMax: limit.recordBytesMax,
    batchBytesMax: limit.batchBytesMax,
    clock: () => scheduler.nowMs,
    observer: { onRecovery: () => {} },
  };
  const acked = new Map<number, Uint8Array>();
  let ackedEnd = 0;
  const violations: string[] = [];
  const counts = { crashes: 0, reopens: 0, failStops: 0, detected: 0 };
  let flipped = false;
  let tag = 0;

  for (let round = 0; round < ROUNDS && violations.length === 0; round++) {
    const opened = await drive(scheduler, openLog(DIR, { ...logOptions, fs: fs.process() }));
    if (!opened.ok && isInjected(opened.error)) {
      // A fault while recovering: the open fails loudly, the node restarts and tries again.
      counts.failStops++;
      fs.crash();
      continue;
    }
    if (!opened.ok) {
      const code = opened.error instanceof LogError ? opened.error.code : null;
      // A flipped header bit is reported at open: loud, and the end of this run.
      if (flipped && code === "CORRUPT") counts.detected++;
      else violations.push(`round ${round}: cannot reopen: ${opened.error}`);
      break;
    }
    counts.reopens++;
    const log: FileLog = opened.value;
    checkAcknowledged(log, acked, ackedEnd, flipped, violations, counts);
    // Appends in flight, then a seeded number of disk events, then a crash or a clean close.
    let failed = false;
    const inflight = random.intBetween(1, limit.inflightMax);
    for (let i = 0; i < inflight; i++) {
      const records = Array.from(
        { length: random.intBetween(1, 4) },
        () => recordBytes(random, limit.recordBytesMax, ++tag),
      );
      log.append(records).then(({ baseOffset }) => {
        if (failed) violations.push(`an append was acknowledged after the log failed`);
        records.forEach((r, k) => acked.set(baseOffset + k, r));
        ackedEnd = Math.max(ackedEnd, baseOffset + records.length);
      }, (error) => {
        if (error instanceof LogError && error.code === "CLOSED") failed = true;
      });
    }
    const crashAfter = random.intBelow(4) === 0 ? EVENTS_PER_OP_MAX : random.intBelow(60);
    for (let i = 0; i < crashAfter; i++) {
      if (await step(scheduler) === 0) break;
    }
    if (failed) {
      counts.failStops++;
      const next = await drive(scheduler, log.append([new Uint8Array([1])]));
      if (next.ok) violations.push(`round ${round}: the log took an append after a failed write`);
    }
    if (crashAfter !== EVENTS_PER_OP_MAX || failed) {
      counts.crashes++;
      fs.crash();
      continue;
    }
    const closed = await drive(scheduler, log.close());
    if (!closed.ok) {
      counts.crashes++;
      fs.crash();
      continue;
    }
    // A bit flip in a sealed segment (not the newest), once per run.
    const stores = fs.files(/\.store$/);
    if (!flipped && stores.length >= 2 && random.chance(0.5)) {
      flipped = fs.flipBit(stores[random.intBelow(stores.length - 1)]!);
    }
  }
  return {
    seed: options.seed,
    acknowledged: acked.size,
    ...counts,
    injected: fs.injected,
    violations,
  };
}

function isInjected(error: unknown): boolean {
  return error instanceof Error && /^(EIO|ENOSPC): simulated/.test(error.message);
}

function checkAcknowledged(
  log: FileLog,
  acked: Map<number, Uint8Array>,
  ackedEnd: number,
  flipped: boolean,
  violations: string[],
  counts: { detected: number },
): void {
  if (log.nextOffset() < ackedEnd) {
    violations.push(`the log ends at ${log.nextOffset()} but ${ackedEnd - 1} was acknowledged`);
  }
  for (const [offset, bytes] of acked) {
    try {
      const record = log.read(offset);
      if (!same(record.value, bytes)) {
        violations.push(`offset ${offset}: read other bytes than were acknowledged`);
      }
    } catch (error) {
      const code = error instanceof LogError ? error.code : null;
      if (flipped && (code === "CORRUPT")) {
        counts.detected++;
        continue;
      }
      violations.push(`offset ${offset}: acknowledged, then unreadable: ${error}`);
    }
    if (violations.length > 5) return;
  }
}
