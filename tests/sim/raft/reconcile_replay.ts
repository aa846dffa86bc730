/**
 * Replays seeds of the reconciliation simulation (`_reconcile_run.ts`):
 * `deno run -A tests/sim/raft/reconcile_replay.ts --seed 7` or `--from 1 --count 500`.
 * Exits non-zero on a failure, printing the seed.
 * @module
 */
import { runReconcileSeed } from "./_reconcile_run.ts";

function argument(name: string): number | null {
  const index = Deno.args.indexOf(`--${name}`);
  if (index < 0) return null;
  const value = Number(Deno.args[index + 1]);
  if (!Number.isInteger(value)) throw new Error(`Cannot parse --${name}: expected an integer`);
  return value;
}

if (import.meta.main) {
  const seed = argument("seed");
  const from = seed ?? argument("from") ?? 1;
  const count = seed === null ? (argument("count") ?? 200) : 1;
  let failed = 0;
  const started = performance.now();
  for (let s = from; s < from + count; s++) {
    const result = await runReconcileSeed(s);
    const line = `seed=${s} changes=${JSON.stringify(result.changes)} left=${
      result.left.join("+") || "-"
    } events=${result.events}`;
    if (seed !== null) console.log(line);
    if (result.violations.length === 0) continue;
    failed++;
    console.log(`FAIL ${line}`);
    for (const violation of result.violations.slice(0, 5)) console.log(`  ${violation}`);
    console.log(`  replay: deno run -A tests/sim/raft/reconcile_replay.ts --seed ${s}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${count - failed}/${count} seeds passed in ${seconds}s`);
  if (failed > 0) Deno.exit(1);
}
