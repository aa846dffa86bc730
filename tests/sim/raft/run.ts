/**
 * One seeded simulation run: a fault phase (crashes with lost unsynced writes, partitions,
 * one-way cuts, lossy/duplicating network, leadership transfers, membership changes) under
 * continuous client traffic, then a recovery phase in which the cluster must elect a leader
 * and commit within a bounded time; safety checkers run throughout and the client history
 * is checked at the end. The same seed always produces the same run.
 * @module
 */

import { RaftError } from "../../../raft/mod.ts";
import { SeededRandom } from "../random.ts";
import { SimCluster, type SimNode, type WorldOptions } from "./_cluster.ts";
import { Workload } from "./_workload.ts";
import { checkHistory, type Operation } from "./history.ts";

/** Parameters of a run; everything else derives from the seed. */
export interface RunOptions {
  readonly seed: number;
  /** 3 or 5; by default chosen by the seed. */
  readonly nodeCount?: number;
  /** Length of the fault phase in simulated ms. Default 6000. */
  readonly faultMs?: number;
  /** After faults stop, a leader must commit and every member apply within this. Default 8000. */
  readonly recoveryMsMax?: number;
  /** Bound on events, so a livelock cannot hang CI. Default 2,000,000. */
  readonly eventsMax?: number;
}

/** What a run found. */
export interface RunResult {
  readonly seed: number;
  readonly nodeCount: number;
  readonly violations: readonly string[];
  readonly acknowledged: number;
  readonly operations: number;
  /** Answered reads: of the end, of an offset that held a value, of one not yet written. */
  readonly reads: { readonly end: number; readonly found: number; readonly missing: number };
  readonly messages: number;
  readonly events: number;
  readonly recoveryMs: number | null;
  /** Node simulation: disk faults injected, failed starts, damage found at open, bit flip. */
  readonly disk?: {
    readonly failedStarts: number;
    readonly recoveries: Readonly<Record<string, number>>;
    readonly flip: string;
    readonly [injected: string]: unknown;
  };
}

/** The world a seed lives in: protocol options and network speed vary with the seed. */
function worldFor(random: SeededRandom): WorldOptions {
  return {
    tickMs: 50,
    electionTimeoutTicks: 10,
    heartbeatTicks: 1,
    preVote: random.chance(0.75),
    checkQuorum: random.chance(0.75),
    dropRate: 0,
    duplicateRate: 0,
    delayMsMin: 1,
    delayMsMax: [5, 20, 80][random.intBelow(3)] as number,
    driftMax: 0.05,
    diskSlow: random.chance(0.5),
  };
}

/** Runs one seed to completion; an exception (a failed assertion) counts as a violation. */
export function runSeed(options: RunOptions): RunResult {
  try {
    return runSeedUnguarded(options);
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return {
      seed: options.seed,
      nodeCount: options.nodeCount ?? 0,
      violations: [`exception: ${text.split("\n").slice(0, 4).join(" | ")}`],
      acknowledged: 0,
      operations: 0,
      reads: { end: 0, found: 0, missing: 0 },
      messages: 0,
      events: 0,
      recoveryMs: null,
    };
  }
}

function runSeedUnguarded(options: RunOptions): RunResult {
  const random = new SeededRandom(options.seed);
  const nodeCount = options.nodeCount ?? (random.chance(0.5) ? 3 : 5);
  const ids = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  const cluster = new SimCluster(random.fork(), ids, worldFor(random));
  const workload = new Workload(cluster, random.fork());
  const faults = new FaultSchedule(cluster, random.fork());
  const faultMs = options.faultMs ?? 6000;
  const eventsMax = options.eventsMax ?? 2_000_000;
  for (const node of cluster.nodes.values()) cluster.start(node);
  scheduleTraffic(cluster, workload, random.fork(), faultMs);
  faults.schedule(faultMs);
  scheduleLogMatching(cluster, faultMs + (options.recoveryMsMax ?? 8000));
  let events = cluster.scheduler.runUntil(faultMs, eventsMax);
  faults.healAll();
  const recovery = awaitRecovery(cluster, workload, options.recoveryMsMax ?? 8000, eventsMax);
  events += recovery.events;
  const violations = [...cluster.checkers.violations];
  if (recovery.problem !== null) violations.push(recovery.problem);
  if (violations.length === 0) violations.push(...finalChecks(cluster, workload));
  return {
    seed: options.seed,
    nodeCount,
    violations,
    acknowledged: workload.acknowledged,
    operations: workload.history.length,
    reads: countReads(workload.history),
    messages: cluster.messagesSent,
    events,
    recoveryMs: recovery.elapsedMs,
  };
}

function countReads(history: readonly Operation[]): RunResult["reads"] {
  const reads = { end: 0, found: 0, missing: 0 };
  for (const op of history) {
    if (op.kind === "append" || op.outcome !== "ok") continue;
    if (op.kind === "read") reads.end++;
    else if (op.value === null) reads.missing++;
    else reads.found++;
  }
  return reads;
}

function scheduleTraffic(
  cluster: SimCluster,
  workload: Workload,
  random: SeededRandom,
  untilMs: number,
): void {
  const next = () => {
    if (cluster.scheduler.nowMs >= untilMs) return;
    const roll = random.intBelow(10);
    if (roll < 8) workload.append();
    else if (roll < 9) workload.read();
    else workload.readOffset();
    cluster.scheduler.after(random.intBetween(5, 80), next);
  };
  cluster.scheduler.after(random.intBetween(0, 50), next);
}

function scheduleLogMatching(cluster: SimCluster, untilMs: number): void {
  const check = () => {
    cluster.checkers.checkLogMatching(cluster.scheduler.nowMs, cluster.running());
    if (cluster.scheduler.nowMs < untilMs) cluster.scheduler.after(1000, check);
  };
  cluster.scheduler.after(1000, check);
}

/**
 * Liveness: with faults healed, some leader must get a fresh append acknowledged and every
 * member of the committed configuration must apply it, within `recoveryMsMax`.
 */
function awaitRecovery(
  cluster: SimCluster,
  workload: Workload,
  recoveryMsMax: number,
  eventsMax: number,
): { problem: string | null; elapsedMs: number | null; events: number } {
  const startMs = cluster.scheduler.nowMs;
  const deadlineMs = startMs + recoveryMsMax;
  let events = 0;
  let probe: { value: string; offset: number | null; outcome: string }[] = [];
  let probeTarget: SimNode | null = null;
  while (cluster.scheduler.nowMs < deadlineMs && cluster.checkers.violations.length === 0) {
    events += cluster.scheduler.runUntil(cluster.scheduler.nowMs + 50, eventsMax);
    const leader = cluster.leader();
    if (leader === null) continue;
    // A probe sent to a node that is no longer leader may never resolve: send a fresh one.
    if (probe.length === 0 || probe.some((op) => op.outcome === "fail") || probeTarget !== leader) {
      probe = workload.append(leader);
      probeTarget = leader;
      continue;
    }
    if (probe.every((op) => op.outcome === "ok") && allApplied(cluster, leader)) {
      return { problem: null, elapsedMs: cluster.scheduler.nowMs - startMs, events };
    }
  }
  if (cluster.checkers.violations.length > 0) return { problem: null, elapsedMs: null, events };
  const states = [...cluster.nodes.values()].map((node) => {
    const status = node.core?.status();
    return status === undefined
      ? `${node.id}:down`
      : `${node.id}:${status.role}@${status.term} commit=${status.commitIndex} last=${status.lastIndex} applied=${node.appliedIndex} voters=${
        status.membership.voters.join("+")
      } learners=${status.membership.learners.join("+")}`;
  });
  return {
    problem:
      `liveness: no leader committed and replicated within ${recoveryMsMax}ms after faults stopped (${
        states.join(", ")
      })`,
    elapsedMs: null,
    events,
  };
}

/** Every member (voter or learner) of the leader's configuration applied its commit index. */
function allApplied(cluster: SimCluster, leader: SimNode): boolean {
  const core = leader.core;
  if (core === null) return false;
  const { membership, commitIndex } = core.status();
  if (leader.appliedIndex < commitIndex) return false;
  for (const id of [...membership.voters, ...membership.learners]) {
    const node = cluster.nodes.get(id);
    if (node === undefined || node.core === null || node.appliedIndex < commitIndex) return false;
  }
  return true;
}

function finalChecks(cluster: SimCluster, workload: Workload): string[] {
  cluster.checkers.checkLogMatching(cluster.scheduler.nowMs, cluster.running());
  const leader = cluster.leader()?.core;
  if (leader === undefined || leader === null) return ["final: no leader"];
  // The committed log as applied anywhere (retention may have removed a prefix everywhere).
  const commit = leader.status().commitIndex;
  const finalLog: string[] = [];
  for (let index = 1; index <= commit; index++) {
    const values = cluster.checkers.committedValues.get(index);
    if (values === undefined) return [`final: committed index ${index} was never applied`];
    finalLog.push(...values);
  }
  return [
    ...cluster.checkers.violations,
    ...checkHistory(workload.history, finalLog).map((problem) => `history: ${problem}`),
  ];
}

/** Crashes, partitions, cuts, network quality, transfers and membership changes. */
class FaultSchedule {
  readonly #cluster: SimCluster;
  readonly #random: SeededRandom;
  readonly #ids: string[];

  constructor(cluster: SimCluster, random: SeededRandom) {
    this.#cluster = cluster;
    this.#random = random;
    this.#ids = [...cluster.nodes.keys()];
  }

  schedule(untilMs: number): void {
    const next = () => {
      if (this.#cluster.scheduler.nowMs >= untilMs) return;
      this.#injectOne();
      this.#cluster.scheduler.after(this.#random.intBetween(30, 400), next);
    };
    this.#cluster.scheduler.after(this.#random.intBetween(200, 800), next);
  }

  #injectOne(): void {
    const roll = this.#random.intBelow(100);
    if (roll < 20) this.#crashOne();
    else if (roll < 26) this.#isolateLeader();
    else if (roll < 32) this.#partition();
    else if (roll < 42) this.#cutOneWay();
    else if (roll < 55) this.#cluster.cuts.clear();
    else if (roll < 68) this.#networkQuality();
    else if (roll < 80) this.#transfer();
    else if (roll < 88) this.#changeMembership();
    else if (roll < 94) this.#retention();
    else this.#restartAll();
  }

  #node(id: string): SimNode {
    return this.#cluster.nodes.get(id) as SimNode;
  }

  #crashOne(): void {
    const id = this.#ids[this.#random.intBelow(this.#ids.length)] as string;
    const leader = this.#cluster.leader();
    const node = leader !== null && this.#random.chance(0.5) ? leader : this.#node(id);
    if (node.core === null) return;
    this.#cluster.crash(node);
    const downMs = this.#random.chance(0.5)
      ? this.#random.intBetween(1, 100)
      : this.#random.intBetween(100, 1500);
    this.#cluster.scheduler.after(downMs, () => {
      if (node.core === null) this.#cluster.start(node);
    });
  }

  #partition(): void {
    const shuffled = this.#random.shuffle(this.#ids.slice());
    const cut = this.#random.intBetween(1, shuffled.length - 1);
    const left = shuffled.slice(0, cut);
    const right = shuffled.slice(cut);
    for (const a of left) {
      for (const b of right) {
        this.#cluster.cuts.add(`${a}>${b}`);
        this.#cluster.cuts.add(`${b}>${a}`);
      }
    }
  }

  /** Cuts the leader off both ways: the classic way to strand partially replicated entries. */
  #isolateLeader(): void {
    const leader = this.#cluster.leader();
    if (leader === null) return;
    for (const id of this.#ids) {
      if (id === leader.id) continue;
      this.#cluster.cuts.add(`${leader.id}>${id}`);
      this.#cluster.cuts.add(`${id}>${leader.id}`);
    }
  }

  #cutOneWay(): void {
    const [a, b] = this.#random.shuffle(this.#ids.slice());
    this.#cluster.cuts.add(`${a}>${b}`);
  }

  #networkQuality(): void {
    this.#cluster.world.dropRate = this.#random.chance(0.5) ? 0 : this.#random.next() * 0.2;
    this.#cluster.world.duplicateRate = this.#random.chance(0.5) ? 0 : this.#random.next() * 0.05;
  }

  #transfer(): void {
    const core = this.#cluster.leader()?.core;
    if (core === null || core === undefined) return;
    const voters = core.membership().voters;
    const target = voters[this.#random.intBelow(voters.length)] as string;
    core.transferLeadership(target);
    const leader = this.#cluster.leader();
    if (leader !== null) this.#cluster.process(leader);
  }

  /** Remove a voter (keeping at least 2), re-add removed nodes as learners, promote learners. */
  #changeMembership(): void {
    const leader = this.#cluster.leader();
    const core = leader?.core;
    if (leader === null || core === null || core === undefined) return;
    const { voters, learners } = core.membership();
    const absent = this.#ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    try {
      if (learners.length > 0) {
        core.proposeConfigChange({ type: "addVoter", id: learners[0] as string });
      } else if (absent.length > 0) {
        core.proposeConfigChange({ type: "addLearner", id: absent[0] as string });
      } else if (voters.length > 2) {
        const id = voters[this.#random.intBelow(voters.length)] as string;
        core.proposeConfigChange({ type: "remove", id });
      }
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
    }
    this.#cluster.process(leader);
  }

  /** Retention on one node: drop applied entries, so laggards need InstallSnapshot. */
  #retention(): void {
    const running = [...this.#cluster.nodes.values()].filter((node) => node.stores !== null);
    const node = running[this.#random.intBelow(Math.max(1, running.length))];
    if (node?.stores === null || node === undefined) return;
    const beforeIndex = node.appliedIndex + 1 - this.#random.intBetween(0, 5);
    if (beforeIndex > node.stores.entries.firstIndex()) {
      void node.stores.entries.deletePrefix(beforeIndex);
    }
  }

  #restartAll(): void {
    for (const node of this.#cluster.nodes.values()) {
      if (node.core === null) this.#cluster.start(node);
    }
  }

  /** End of the fault phase: a clean network and every node running. */
  healAll(): void {
    this.#cluster.cuts.clear();
    this.#cluster.world.dropRate = 0;
    this.#cluster.world.duplicateRate = 0;
    this.#restartAll();
  }
}
