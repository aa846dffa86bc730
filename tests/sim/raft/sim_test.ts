import { runSeed } from "./run.ts";

/** Seeds CI runs on every change; `deno task sim:raft:long` runs many more. */
const SEEDS = 400;

Deno.test(`raft simulation: ${SEEDS} seeds keep every safety and liveness check`, () => {
  const failures: string[] = [];
  let acknowledged = 0;
  const reads = { end: 0, found: 0, missing: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = runSeed({ seed });
    acknowledged += result.acknowledged;
    reads.end += result.reads.end;
    reads.found += result.reads.found;
    reads.missing += result.reads.missing;
    if (result.violations.length === 0) continue;
    failures.push(
      `seed=${seed}: ${
        result.violations.slice(0, 3).join("; ")
      }\n  replay: deno task sim:raft --core --seed ${seed}`,
    );
    if (failures.length >= 5) break;
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
  // A run that acknowledges nothing checks nothing: the workload must make progress.
  if (acknowledged < SEEDS * 20) throw new Error(`only ${acknowledged} appends acknowledged`);
  // Likewise every kind of read must be answered often enough for the checker to bite.
  if (Math.min(reads.end, reads.found, reads.missing) < SEEDS) {
    throw new Error(`too few reads answered: ${JSON.stringify(reads)}`);
  }
});

Deno.test("raft simulation: the same seed replays the same run", () => {
  const first = runSeed({ seed: 4242 });
  const second = runSeed({ seed: 4242 });
  if (JSON.stringify(first) !== JSON.stringify(second)) {
    throw new Error(`seed 4242 diverged: ${JSON.stringify(first)} vs ${JSON.stringify(second)}`);
  }
});
