import { runDiskSeed } from "./disk_run.ts";

/**
 * Seeds CI runs of the disk simulation (the file log over a simulated disk, tens of ms each);
 * `deno task sim:raft:disk:long` runs many more.
 */
const SEEDS = 100;

Deno.test(`disk simulation: ${SEEDS} seeds of FileLog over crashes, torn writes, EIO, ENOSPC and bit flips lose no acknowledged record`, async () => {
  const failures: string[] = [];
  const totals = { acknowledged: 0, crashes: 0, failStops: 0, detected: 0, torn: 0, flips: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await runDiskSeed({ seed });
    totals.acknowledged += result.acknowledged;
    totals.crashes += result.crashes;
    totals.failStops += result.failStops;
    totals.detected += result.detected;
    totals.torn += result.injected.torn;
    totals.flips += result.injected.flips;
    if (result.violations.length === 0) continue;
    failures.push(
      `seed=${seed}: ${result.violations.slice(0, 3).join("; ")}\n` +
        `  replay: deno task sim:raft --disk --seed ${seed}`,
    );
    if (failures.length >= 3) break;
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
  // The faults must actually happen, or the run checks nothing.
  for (const [name, count] of Object.entries(totals)) {
    if (count < 10) {
      throw new Error(`too few ${name} over ${SEEDS} seeds: ${JSON.stringify(totals)}`);
    }
  }
});

Deno.test("disk simulation: the same seed replays the same run", async () => {
  const first = await runDiskSeed({ seed: 77 });
  const second = await runDiskSeed({ seed: 77 });
  if (JSON.stringify(first) !== JSON.stringify(second)) {
    throw new Error(`seed 77 diverged: ${JSON.stringify(first)} vs ${JSON.stringify(second)}`);
  }
});
