/**
 * Replays simulation seeds of the production-node simulation (`node_run.ts`; `--core` picks
 * the core-only one, `run.ts`): `deno task sim:raft --seed 42` runs one seed and prints its
 * result; `--from 1 --count 10000` runs a range (the long run); `--nodes 5` and
 * `--fault-ms 30000` override the seed's cluster size and the fault phase; `--stop-first` ends
 * a range at its first failure (the mutants runner counts seeds to catch that way). Exits
 * non-zero on a failure, printing the seed and the command that replays it. `--sync-on-drop`
 * and `--keep-corrupted` replay two known driver/transport problems (see node_run.ts).
 * The node simulation keeps every node's Raft log in the production FileLog and meta store on
 * a simulated disk with faults; `--seed N` also prints its disk figures (`disk=`).
 * `--disk` runs the disk simulation instead (`disk_run.ts`: the file log over a simulated
 * disk with crashes, torn writes, EIO / ENOSPC and bit flips).
 * @module
 */

import { type DiskRunResult, runDiskSeed } from "./disk_run.ts";
import { runNodeSeed } from "./node_run.ts";
import { type RunOptions, type RunResult, runSeed } from "./run.ts";

function argument(name: string): number | null {
  const index = Deno.args.indexOf(`--${name}`);
  if (index < 0) return null;
  const value = Number(Deno.args[index + 1]);
  if (!Number.isInteger(value)) throw new Error(`Cannot parse --${name}: expected an integer`);
  return value;
}

/** The disk simulation's result in the shape this script prints; `--seed` prints it whole. */
function diskResult(result: DiskRunResult): RunResult {
  if (Deno.args.includes("--seed")) console.log(JSON.stringify(result));
  return {
    seed: result.seed,
    nodeCount: 1,
    operations: result.reopens,
    acknowledged: result.acknowledged,
    reads: { end: 0, found: 0, missing: 0 },
    messages: 0,
    events: 0,
    recoveryMs: null,
    violations: result.violations,
  };
}

function describe(result: RunResult): string {
  return `seed=${result.seed} nodes=${result.nodeCount} ops=${result.operations} acked=${result.acknowledged} reads=${result.reads.end}/${result.reads.found}/${result.reads.missing} messages=${result.messages} events=${result.events} recoveryMs=${result.recoveryMs}`;
}

const core = Deno.args.includes("--core");
const disk = Deno.args.includes("--disk");
const run = (options: RunOptions): Promise<RunResult> =>
  disk
    ? runDiskSeed(options).then(diskResult)
    : core
    ? Promise.resolve(runSeed(options))
    : runNodeSeed({
      ...options,
      syncOnDrop: Deno.args.includes("--sync-on-drop"),
      keepCorrupted: Deno.args.includes("--keep-corrupted"),
    });

if (import.meta.main) {
  const seed = argument("seed");
  const from = seed ?? argument("from") ?? 1;
  const count = seed === null ? (argument("count") ?? 1000) : 1;
  const verbose = seed !== null;
  let failed = 0;
  let ran = 0;
  const started = performance.now();
  for (let s = from; s < from + count; s++) {
    ran++;
    const nodeCount = argument("nodes");
    const faultMs = argument("fault-ms");
    const result = await run({
      seed: s,
      ...(nodeCount === null ? {} : { nodeCount }),
      ...(faultMs === null ? {} : { faultMs }),
    });
    if (verbose) {
      console.log(describe(result));
      // The node simulation's disk figures: faults injected, failed starts, damage found.
      if (result.disk !== undefined) console.log(`disk=${JSON.stringify(result.disk)}`);
    }
    if (result.violations.length > 0) {
      failed++;
      console.log(`FAIL ${describe(result)}`);
      for (const violation of result.violations.slice(0, 10)) console.log(`  ${violation}`);
      const flags = ["nodes", "fault-ms"].flatMap((name) => {
        const value = argument(name);
        return value === null ? [] : [`--${name} ${value}`];
      });
      if (core) flags.unshift("--core");
      if (disk) flags.unshift("--disk");
      for (const flag of ["--sync-on-drop", "--keep-corrupted"]) {
        if (Deno.args.includes(flag)) flags.push(flag);
      }
      console.log(`  replay: deno task sim:raft --seed ${s} ${flags.join(" ")}`.trimEnd());
      if (Deno.args.includes("--stop-first")) break;
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${ran - failed}/${ran} seeds passed in ${seconds}s`);
  if (failed > 0) Deno.exit(1);
}
