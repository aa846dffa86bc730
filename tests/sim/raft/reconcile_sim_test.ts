import { runReconcileSeed } from "./_reconcile_run.ts";

/** Seeds per CI run (~2 s); `reconcile_replay.ts --from 1 --count 500` is the long run. */
const SEEDS = 60;

Deno.test(`raft reconcile simulation: ${SEEDS} seeds never remove a failed member, promote only caught-up learners and converge`, async () => {
  const failures: string[] = [];
  const totals = { addLearner: 0, addVoter: 0, remove: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await runReconcileSeed(seed);
    for (const type of ["addLearner", "addVoter", "remove"] as const) {
      totals[type] += result.changes[type];
    }
    if (result.violations.length > 0) {
      failures.push(`seed ${seed}: ${result.violations.slice(0, 3).join(" | ")}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
  // The seeds exercise every kind of change (or the invariants would be vacuous).
  for (const [type, count] of Object.entries(totals)) {
    if (count === 0) throw new Error(`no ${type} change in ${SEEDS} seeds`);
  }
});
