import { runNodeSeed } from "./node_run.ts";

/**
 * Seeds CI runs of the production-node simulation (RaftNode + transport + codec over the
 * FileLog and the meta store on simulated disks; about 0.2 s each); `deno task sim:raft:long`
 * runs many more.
 */
const SEEDS = 100;

Deno.test(`raft node simulation: ${SEEDS} seeds of RaftNode + transport + codec + FileLog on faulty disks keep every check`, async () => {
  const failures: string[] = [];
  let acknowledged = 0;
  const reads = { end: 0, found: 0, missing: 0 };
  const disk = { writeFaults: 0, syncFaults: 0, torn: 0, flipsDetected: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await runNodeSeed({ seed });
    acknowledged += result.acknowledged;
    reads.end += result.reads.end;
    reads.found += result.reads.found;
    reads.missing += result.reads.missing;
    const injected = (result.disk ?? {}) as Record<string, unknown>;
    disk.writeFaults += Number(injected.eio ?? 0) + Number(injected.enospc ?? 0);
    disk.syncFaults += Number(injected.syncEio ?? 0);
    disk.torn += Number(injected.torn ?? 0);
    if (result.disk?.flip === "detected") disk.flipsDetected++;
    if (result.violations.length === 0) continue;
    failures.push(
      `seed=${seed}: ${
        result.violations.slice(0, 3).join("; ")
      }\n  replay: deno task sim:raft --seed ${seed}`,
    );
    if (failures.length >= 3) break;
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
  // A run that acknowledges nothing checks nothing: the workload must make progress.
  if (acknowledged < SEEDS * 20) throw new Error(`only ${acknowledged} appends acknowledged`);
  if (Math.min(reads.end, reads.found, reads.missing) < SEEDS) {
    throw new Error(`too few reads answered: ${JSON.stringify(reads)}`);
  }
  // The disk faults must actually happen, or the FileLog under Raft is not being tested.
  for (const [name, count] of Object.entries(disk)) {
    if (count < 10) throw new Error(`too few ${name} over ${SEEDS} seeds: ${JSON.stringify(disk)}`);
  }
});

Deno.test("raft node simulation: the same seed replays the same run", async () => {
  const first = await runNodeSeed({ seed: 4242 });
  const second = await runNodeSeed({ seed: 4242 });
  if (JSON.stringify(first) !== JSON.stringify(second)) {
    throw new Error(`seed 4242 diverged: ${JSON.stringify(first)} vs ${JSON.stringify(second)}`);
  }
});
