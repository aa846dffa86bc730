/**
 * Raft benchmarks (`deno task bench raft`):
 * - replicated appends per second of the core alone: a 3-node cluster in memory, messages
 *   delivered in-process, every Ready persisted to a MemoryLog — the CPU cost of consensus
 *   per entry. Baseline in the same run: appending the same entries to one MemoryLog.
 * - election time after a leader crash, in simulated time, with the default timeouts
 *   (the driver's 40 ms ticks, 10-tick election timeout, pre-vote and check-quorum on), over
 *   1,000 crashes; split into detection (until a survivor starts campaigning) and the vote
 *   rounds after it, plus the share of crashes that needed more than one term.
 *   Target: < 1 s.
 * @module
 */

import { type Entry, EntryKind, MemoryLog } from "../log/mod.ts";
import { DEFAULT_TICK_MS } from "../raft/mod.ts";
import { SeededRandom } from "../tests/sim/random.ts";
import { SimCluster } from "../tests/sim/raft/_cluster.ts";
import { records, TestCluster } from "../tests/raft/_harness.ts";

interface Figure {
  name: string;
  value: number;
  unit: string;
}

const figures: Figure[] = [];

function report(name: string, value: number, unit: string): void {
  const scale = unit === "fraction" ? 1000 : 100;
  figures.push({ name, value: Math.round(value * scale) / scale, unit });
}

async function replicatedAppends(
  ids: string[],
  entryCount: number,
  windowSize: number,
): Promise<number> {
  const cluster = new TestCluster(ids);
  await cluster.elect("a");
  const payload = records("x".repeat(100))[0] as Uint8Array;
  const leader = cluster.core("a");
  const started = performance.now();
  for (let done = 0; done < entryCount; done += windowSize) {
    for (let i = 0; i < windowSize; i++) leader.propose([payload]);
    await cluster.settle(1000);
  }
  const seconds = (performance.now() - started) / 1000;
  const last = ids[ids.length - 1] as string;
  const applied = cluster.node(last).applied.length;
  if (applied < entryCount) throw new Error(`only ${applied}/${entryCount} applied on ${last}`);
  return entryCount / seconds;
}

async function baselineAppends(entryCount: number): Promise<number> {
  const log = new MemoryLog();
  const payload = records("x".repeat(100))[0] as Uint8Array;
  const started = performance.now();
  for (let index = 1; index <= entryCount; index++) {
    const entry: Entry = {
      term: 1,
      index,
      kind: EntryKind.Records,
      baseOffset: index - 1,
      records: [payload],
      data: new Uint8Array(0),
    };
    await log.appendEntries([entry]);
  }
  return entryCount / ((performance.now() - started) / 1000);
}

/** One leader replacement: when a survivor first campaigned, when one led, after how many terms. */
interface Election {
  readonly detectMs: number;
  readonly totalMs: number;
  readonly terms: number;
}

/**
 * Simulated ms from crashing the leader until another node leads, split into detection (a
 * survivor's timeout fires and it starts a pre-vote) and the election rounds after it.
 */
function electionAfterCrash(seed: number): Election {
  const random = new SeededRandom(seed);
  const cluster = new SimCluster(random.fork(), ["n1", "n2", "n3"], {
    tickMs: DEFAULT_TICK_MS,
    electionTimeoutTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    diskSlow: false,
    dropRate: 0,
    duplicateRate: 0,
    delayMsMin: 1,
    delayMsMax: 5,
    driftMax: 0.05,
  });
  for (const node of cluster.nodes.values()) cluster.start(node);
  cluster.scheduler.runUntil(3000, 1_000_000);
  const old = cluster.leader();
  if (old === null) throw new Error(`seed ${seed}: no leader after 3 s`);
  const crashedAtMs = cluster.scheduler.nowMs;
  const oldTerm = old.core?.status().term ?? 0;
  cluster.crash(old);
  let detectMs: number | null = null;
  for (let step = 0; step < 5000; step++) {
    cluster.scheduler.runUntil(cluster.scheduler.nowMs + 1, 1_000_000);
    const elapsedMs = cluster.scheduler.nowMs - crashedAtMs;
    const roles = cluster.running().map(([, core]) => core.status().role);
    if (detectMs === null && roles.some((role) => role !== "follower")) detectMs = elapsedMs;
    const leader = cluster.leader();
    const term = leader?.core?.status().term ?? 0;
    if (leader !== null && leader !== old) {
      return { detectMs: detectMs ?? elapsedMs, totalMs: elapsedMs, terms: term - oldTerm };
    }
  }
  throw new Error(`seed ${seed}: no new leader within 5 s`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

if (import.meta.main) {
  const entries = 20_000;
  const baseline = await baselineAppends(entries);
  const raft = await replicatedAppends(["a", "b", "c"], entries, 256);
  const raft5 = await replicatedAppends(["a", "b", "c", "d", "e"], entries, 256);
  report("raft.baseline.memorylog.append.100B", baseline, "entries/s");
  report("raft.core.replicated.3n.w256.100B", raft, "entries/s");
  report("raft.core.replicated.3n.w256.100B.cpu_per_entry", 1e6 / raft, "us");
  report("raft.core.replicated.3n.w256.100B.ratio_to_baseline", raft / baseline, "ratio");
  report("raft.core.replicated.5n.w256.100B", raft5, "entries/s");
  report("raft.core.replicated.5n.w256.100B.ratio_to_baseline", raft5 / baseline, "ratio");
  const runs = Array.from({ length: 1000 }, (_, i) => electionAfterCrash(i + 1));
  const elections = runs.map((run) => run.totalMs).sort((a, b) => a - b);
  const detections = runs.map((run) => run.detectMs).sort((a, b) => a - b);
  const afterDetection = runs.map((run) => run.totalMs - run.detectMs).sort((a, b) => a - b);
  report("raft.election_after_crash.p50", percentile(elections, 0.5), "sim_ms");
  report("raft.election_after_crash.p90", percentile(elections, 0.9), "sim_ms");
  report("raft.election_after_crash.p99", percentile(elections, 0.99), "sim_ms");
  const underOneSecond = elections.filter((ms) => ms < 1000).length / elections.length;
  report("raft.election_after_crash.under_1s", underOneSecond, "fraction");
  report("raft.election_after_crash.max", elections[elections.length - 1] as number, "sim_ms");
  report("raft.election_after_crash.detect.p50", percentile(detections, 0.5), "sim_ms");
  report("raft.election_after_crash.detect.p99", percentile(detections, 0.99), "sim_ms");
  report("raft.election_after_crash.vote_rounds.p50", percentile(afterDetection, 0.5), "sim_ms");
  report("raft.election_after_crash.vote_rounds.p99", percentile(afterDetection, 0.99), "sim_ms");
  const split = runs.filter((run) => run.terms > 1).length / runs.length;
  report("raft.election_after_crash.more_than_one_term", split, "fraction");
  console.log("| figure | value | unit |\n| --- | ---: | --- |");
  for (const f of figures) console.log(`| ${f.name} | ${f.value} | ${f.unit} |`);
  for (const f of figures) console.log(JSON.stringify(f));
}
