/**
 * One seeded run of production nodes ({@linkcode RaftNode} + {@linkcode PeerTransport} + the
 * wire codec) on simulated time: a fault phase (crashes that cut multi-step disk work short,
 * partitions, one-way cuts, connection resets, hung and lingering connections, leadership
 * transfers, membership changes, retention that forces InstallSnapshot) under client
 * traffic, then a recovery phase in which a leader must commit and every member apply. Every
 * limit (append bytes, in-flight messages and bytes, apply batch, transport queue, timing)
 * is drawn from the seed. Safety checks run after every event; the client history is checked
 * for linearizability at the end. The same seed always replays the same run.
 * @module
 */

import { type Entry, type FileLog, LogError, openLog } from "../../../log/mod.ts";
import { type Message, MessageType, RaftError } from "../../../raft/mod.ts";
import { SeededRandom } from "../random.ts";
import {
  isStorageFailure,
  LOG_DIR,
  NodeCluster,
  type NodeSim,
  type NodeWorld,
} from "./_node_cluster.ts";
import { NodeWorkload, type Probe, valueOf } from "./_node_workload.ts";
import type { NetQuality } from "./_net.ts";
import { Scheduler } from "./_scheduler.ts";
import { checkHistory, type Operation } from "./history.ts";
import type { RunOptions, RunResult } from "./run.ts";

/** Draws every limit and timing of a world from the seed. */
export function worldFor(random: SeededRandom): NodeWorld {
  const pick = <T>(values: readonly T[]): T => values[random.intBelow(values.length)] as T;
  // The workload's records are at most ~130 bytes; the log's record limit stays above them.
  const recordBytesMax = pick([200, 1 << 20]);
  const appendBytesMax = pick([1, 64, 300, 4096, 1 << 20]);
  const tickMs = pick([20, 40, 50]);
  return {
    tickMs,
    // Raft needs round trips (up to 2 × 40 ms of network, plus disk) well inside the election
    // timeout: at least 200 ms, or once faults stop no candidate could collect its votes.
    electionTimeoutTicks: Math.max(pick([5, 10, 12]), Math.ceil(200 / tickMs)),
    heartbeatTicks: pick([1, 1, 2]),
    preVote: random.chance(0.75),
    checkQuorum: random.chance(0.75),
    appendBytesMax,
    inflightMessagesMax: pick([1, 2, 4, 64]),
    inflightBytesMax: pick([256, 4096, 8 << 20]),
    applyBytesMax: pick([1, 200, 4 << 20]),
    uncommittedEntriesMax: pick([4, 64, 4096]),
    // A peer queue smaller than the largest append frame could never send it: the largest
    // frame is appendBytesMax plus one entry (at most 3 records of ~130 bytes) and headers.
    queueBytesMax: appendBytesMax + 2048 + pick([0, 8192, 16 << 20]),
    queueMessagesMax: pick([4, 64, 1024]),
    connectTimeoutMs: pick([50, 500, 3000]),
    writeTimeoutMs: pick([50, 500, 2000]),
    redialMs: pick([5, 50, 100]),
    requestTimeoutMs: pick([300, 1000, 3000]),
    diskLatencyMsMax: pick([1, 5, 40]),
    driftMax: 0.05,
    log: {
      // Small segments and indexes roll often (rolls, restarts and retention cross them);
      // entries larger than the log takes are refused at propose (entryBytesMax), as in the agent.
      segmentBytesMax: pick([400, 2000, 64 << 10]),
      indexBytesMax: 24 * pick([4, 32, 4096]),
      recordBytesMax,
      batchBytesMax: Math.max(recordBytesMax, pick([600, 4096, 1 << 20])),
    },
    diskFaults: diskFaultsFor(random, pick),
  };
}

/** Seeded disk behaviour: usual latency, latency spikes, and EIO / ENOSPC in some runs. */
function diskFaultsFor(
  random: SeededRandom,
  pick: <T>(values: readonly T[]) => T,
): NodeWorld["diskFaults"] {
  const faulty = random.chance(0.5);
  return {
    latencyMs: pick([1, 2, 6]),
    spikeP: pick([0, 0.005, 0.02]),
    spikeMs: pick([50, 300]),
    writeErrorP: faulty ? pick([0.0005, 0.002]) : 0,
    syncErrorP: faulty ? pick([0.0005, 0.002]) : 0,
  };
}

function qualityFor(random: SeededRandom): NetQuality {
  return {
    delayMsMin: 1,
    delayMsMax: [3, 10, 40][random.intBelow(3)] as number,
    corruptRate: 0,
    resetRate: 0,
  };
}

/** Options of a node run. */
export interface NodeRunOptions extends RunOptions {
  /**
   * Wire the transport's onDrop synchronously into `RaftNode.reportUnreachable`, as the agent
   * does (`--sync-on-drop`). The node defers the report itself: acting inside `send()` used
   * to re-enter the driver's loop, and two loops appended out of order (seed 80).
   */
  readonly syncOnDrop?: boolean;
  /**
   * Keep connections that carried a corrupted chunk open after the faults stop. On by
   * default: the receiver must notice damage itself (a flipped bit in a frame's length field
   * is caught by the header checksum before it waits for a body that never comes).
   */
  readonly keepCorrupted?: boolean;
}

/** Runs one seed; an exception or an unhandled rejection counts as a violation. */
export async function runNodeSeed(options: NodeRunOptions): Promise<RunResult> {
  const rejections: string[] = [];
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    const reason = event.reason instanceof Error
      ? (event.reason.stack ?? String(event.reason)).split("\n").slice(0, 8).join(" | ")
      : String(event.reason);
    rejections.push(`unhandled rejection: ${reason.slice(0, 1000)}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    const result = await runUnguarded(options);
    if (rejections.length === 0) return result;
    return { ...result, violations: [...result.violations, ...rejections] };
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return {
      seed: options.seed,
      nodeCount: options.nodeCount ?? 0,
      violations: [`exception: ${text.split("\n").slice(0, 12).join(" | ")}`, ...rejections],
      acknowledged: 0,
      operations: 0,
      reads: { end: 0, found: 0, missing: 0 },
      messages: 0,
      events: 0,
      recoveryMs: null,
    };
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
}

async function runUnguarded(options: NodeRunOptions): Promise<RunResult> {
  const random = new SeededRandom(options.seed);
  const nodeCount = options.nodeCount ?? (random.chance(0.5) ? 3 : 5);
  const ids = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  const scheduler = new Scheduler();
  const world = worldFor(random);
  const cluster = new NodeCluster(scheduler, random.fork(), ids, world, qualityFor(random));
  cluster.syncOnDrop = options.syncOnDrop ?? false;
  const workload = new NodeWorkload(cluster, random.fork(), random.chance(0.5) ? 0 : 120);
  const faults = new NodeFaults(cluster, random.fork());
  const faultMs = options.faultMs ?? 4000;
  const recoveryMsMax = options.recoveryMsMax ?? 10_000;
  const eventsMax = options.eventsMax ?? 2_000_000;
  for (const node of cluster.nodes.values()) cluster.start(node);
  const crashAfterSend = random.chance(0.5) ? 0 : [0.01, 0.05, 0.2][random.intBelow(3)] as number;
  let faultPhase = true;
  cluster.net.onMessage = (message) => {
    if (faultPhase && promises(message) && random.chance(crashAfterSend)) {
      faults.crashSoon(message.from);
    }
  };
  // InstallSnapshot is several writes (state, restart marker, segments): crash inside it.
  const crashInRestart = random.chance(0.5) ? 0 : 0.5;
  cluster.onRestartAt = (node) => {
    if (faultPhase && random.chance(crashInRestart)) {
      faults.crashSoon(node.id, random.intBelow(4 * world.diskFaults.latencyMs!));
    }
  };
  faults.superviseDisks();
  const quorumWatch = new QuorumWatch(cluster);
  scheduleTraffic(cluster, workload, random.fork(), faultMs);
  faults.schedule(faultMs);
  // A leader whose commit index is past what its own FileLog holds durably (its write still
  // in flight; legitimate when enough followers acknowledged) crashes then: the entry must
  // survive on the followers that acknowledged it.
  const crashCommittedUnsynced = random.chance(0.5) ? 0 : 0.2;
  const check = () => {
    cluster.observe();
    quorumWatch.check();
    if (crashCommittedUnsynced > 0) {
      faults.crashLeaderAhead(() => random.chance(crashCommittedUnsynced));
    }
  };
  let events = await scheduler.runUntilSettled(faultMs, eventsMax, check);
  faultPhase = false;
  const keptDown = faults.healAll(random.chance(0.3), options.keepCorrupted ?? true);
  const recovery = await awaitRecovery(cluster, workload, recoveryMsMax, eventsMax, keptDown);
  events += recovery.events;
  const violations = [...cluster.checkers.violations];
  if (recovery.problem !== null) violations.push(recovery.problem);
  if (violations.length === 0) violations.push(...finalChecks(cluster, workload));
  const applied = new Map<string, number>();
  for (const node of cluster.nodes.values()) {
    applied.set(node.id, node.raft?.status().appliedIndex ?? 0);
    cluster.crash(node);
  }
  let flip: FlipOutcome = "none";
  if (violations.length === 0 && random.chance(0.5)) {
    flip = await checkBitFlip(cluster, random.fork(), applied, violations);
  }
  return {
    seed: options.seed,
    nodeCount,
    violations,
    acknowledged: workload.acknowledged,
    operations: workload.history.length,
    reads: countReads(workload.history),
    messages: cluster.net.bytesSent,
    events,
    recoveryMs: recovery.elapsedMs,
    disk: {
      ...sumInjected(cluster),
      failedStarts: cluster.failedStarts,
      recoveries: Object.fromEntries(cluster.recoveries),
      flip,
    },
  };
}

function sumInjected(cluster: NodeCluster): Record<string, number> {
  const total: Record<string, number> = {};
  for (const node of cluster.nodes.values()) {
    for (const [kind, count] of Object.entries(node.disk.injected)) {
      total[kind] = (total[kind] ?? 0) + count;
    }
  }
  return total;
}

/** What a bit flipped in a sealed segment of a stopped node's log led to. */
type FlipOutcome = "none" | "detected" | "unread";

/**
 * A bit flips in a sealed segment of one node's log (written by the whole run: rolls,
 * truncations, restarts, retention) while it is down; its file log is reopened and every entry
 * read back up to what it applied: each either holds what was committed at its index or is
 * refused as `CORRUPT` (at open or on read), never served changed.
 */
async function checkBitFlip(
  cluster: NodeCluster,
  random: SeededRandom,
  applied: ReadonlyMap<string, number>,
  violations: string[],
): Promise<FlipOutcome> {
  const ids = [...cluster.nodes.keys()];
  const node = cluster.nodes.get(ids[random.intBelow(ids.length)] as string) as NodeSim;
  const stores = node.disk.files(/\.store$/).filter((path) => path.startsWith(`${LOG_DIR}/`));
  if (stores.length < 2 || !node.disk.flipBit(stores[random.intBelow(stores.length - 1)]!)) {
    return "none";
  }
  const fs = node.disk.process();
  const scheduler = cluster.scheduler;
  let outcome: { ok: boolean; value?: FileLog; error?: unknown } | null = null;
  openLog(LOG_DIR, {
    segmentBytesMax: cluster.world.log.segmentBytesMax,
    indexBytesMax: cluster.world.log.indexBytesMax,
    recordBytesMax: cluster.world.log.recordBytesMax,
    batchBytesMax: cluster.world.log.batchBytesMax,
    observer: { onRecovery: () => {} },
    fs,
  }).then((value) => outcome = { ok: true, value }, (error) => outcome = { ok: false, error });
  for (let i = 0; i < 10_000 && outcome === null; i++) {
    await scheduler.runUntilSettled(scheduler.nowMs + 60_000, 1, () => {});
  }
  const opened = outcome as { ok: boolean; value?: FileLog; error?: unknown } | null;
  if (opened === null) {
    violations.push(`bit flip on ${node.id}: reopening never completed`);
    return "none";
  }
  if (!opened.ok) {
    if (opened.error instanceof LogError && opened.error.code === "CORRUPT") return "detected";
    violations.push(`bit flip on ${node.id}: cannot reopen: ${opened.error}`);
    return "none";
  }
  const log = opened.value as FileLog;
  let detected = false;
  // Entries this node applied are committed: their values are known (a removed member's log
  // may hold a stale suffix past them).
  const lastIndex = Math.min(log.lastIndex(), applied.get(node.id) ?? 0);
  for (let index = log.firstIndex(); index <= lastIndex; index++) {
    let entry: Entry;
    try {
      entry = log.entries(index, index + 1, 0)[0] as Entry;
    } catch (error) {
      if (error instanceof LogError && error.code === "CORRUPT") {
        detected = true;
        continue;
      }
      violations.push(`bit flip on ${node.id}: entry ${index} unreadable: ${error}`);
      break;
    }
    const committed = cluster.checkers.committedValues.get(index);
    const values = entry.records.map((record) => new TextDecoder().decode(record));
    if (committed !== undefined && JSON.stringify(committed) !== JSON.stringify(values)) {
      violations.push(
        `bit flip on ${node.id}: entry ${index} served changed: ${
          JSON.stringify(values).slice(0, 200)
        } (committed ${JSON.stringify(committed).slice(0, 200)})`,
      );
      break;
    }
  }
  return detected ? "detected" : "unread";
}

/** A message that promises something durable: a granted vote, an acknowledged append. */
function promises(message: Message): boolean {
  return (message.type === MessageType.VoteResponse && message.granted) ||
    (message.type === MessageType.AppendResponse && message.success);
}

/**
 * Check-quorum as an observable property: a leader that cannot exchange messages with a
 * majority of its voters (crashed or cut off) must step down within a few election timeouts.
 */
class QuorumWatch {
  readonly #cluster: NodeCluster;
  readonly #since = new Map<string, number>();
  readonly #boundMs: number;

  constructor(cluster: NodeCluster) {
    this.#cluster = cluster;
    const w = cluster.world;
    this.#boundMs = 3 * 2 * w.electionTimeoutTicks * w.tickMs * (1 + w.driftMax) + 200;
  }

  check(): void {
    if (!this.#cluster.world.checkQuorum) return;
    const now = this.#cluster.scheduler.nowMs;
    for (const node of this.#cluster.nodes.values()) {
      const status = node.raft?.status();
      if (status?.role !== "leader" || this.#reachesQuorum(node.id, status.membership.voters)) {
        this.#since.delete(node.id);
        continue;
      }
      const since = this.#since.get(node.id) ?? now;
      this.#since.set(node.id, since);
      if (now - since > this.#boundMs) {
        this.#cluster.checkers.violations.push(
          `t=${now}ms: check-quorum: ${node.id} still leads term ${status.term} after ${
            now - since
          }ms without reaching a majority of ${status.membership.voters.join("+")}`,
        );
        this.#since.set(node.id, Infinity);
      }
    }
  }

  #reachesQuorum(id: string, voters: readonly string[]): boolean {
    const cuts = this.#cluster.net.cuts;
    let reachable = 0;
    for (const voter of voters) {
      const up = this.#cluster.nodes.get(voter)?.raft !== null;
      if (voter === id || (up && !cuts.has(`${id}>${voter}`) && !cuts.has(`${voter}>${id}`))) {
        reachable++;
      }
    }
    return reachable > voters.length / 2;
  }
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
  cluster: NodeCluster,
  workload: NodeWorkload,
  random: SeededRandom,
  untilMs: number,
): void {
  const next = () => {
    if (cluster.scheduler.nowMs >= untilMs) return;
    const roll = random.intBelow(10);
    if (roll < 7) workload.append();
    else if (roll < 8) workload.read();
    else workload.readOffset();
    cluster.scheduler.after(random.intBetween(2, 40), next);
  };
  cluster.scheduler.after(random.intBetween(0, 50), next);
}

/** A leader must get a fresh append acknowledged and every member apply it, in time. */
async function awaitRecovery(
  cluster: NodeCluster,
  workload: NodeWorkload,
  recoveryMsMax: number,
  eventsMax: number,
  keptDown: string | null,
): Promise<{ problem: string | null; elapsedMs: number | null; events: number }> {
  const scheduler = cluster.scheduler;
  const startMs = scheduler.nowMs;
  let events = 0;
  let probe: Probe = { ops: [], settled: true };
  let probeTarget: NodeSim | null = null;
  let transferTried = false;
  while (scheduler.nowMs < startMs + recoveryMsMax && cluster.checkers.violations.length === 0) {
    events += await scheduler.runUntilSettled(
      scheduler.nowMs + 50,
      eventsMax,
      () => cluster.observe(),
    );
    const leader = cluster.leader();
    if (leader === null) continue;
    if (keptDown !== null && !transferTried) {
      // An operator hands leadership to a node that is down: the leader must give up on it.
      transferTried = true;
      try {
        leader.raft?.transferLeadership(keptDown);
      } catch (error) {
        if (!expectedRefusal(error)) throw error;
      }
    }
    // A probe that failed, timed out, or went to a deposed leader is replaced by a fresh one.
    const answered = probe.ops.length > 0 && probe.ops.every((op) => op.outcome === "ok");
    if ((probe.settled && !answered) || probeTarget !== leader) {
      probe = workload.append(leader);
      probeTarget = leader;
      continue;
    }
    if (answered && allApplied(cluster, leader, keptDown)) {
      return { problem: null, elapsedMs: scheduler.nowMs - startMs, events };
    }
  }
  if (cluster.checkers.violations.length > 0) return { problem: null, elapsedMs: null, events };
  const states = [...cluster.nodes.values()].map((node) => {
    const s = node.raft?.status();
    return s === undefined
      ? `${node.id}:down`
      : `${node.id}:${s.role}@${s.term} commit=${s.commitIndex} last=${s.lastIndex} applied=${s.appliedIndex} voters=${
        s.membership.voters.join("+")
      } learners=${s.membership.learners.join("+")}`;
  });
  return {
    problem: `liveness${
      keptDown === null ? "" : ` (${keptDown} kept down)`
    }: no leader committed and replicated within ${recoveryMsMax}ms after faults stopped (${
      states.join(", ")
    }); last unknown outcome: ${workload.lastUnknown}`,
    elapsedMs: null,
    events,
  };
}

function allApplied(cluster: NodeCluster, leader: NodeSim, keptDown: string | null): boolean {
  const status = leader.raft?.status();
  if (status === undefined || status.appliedIndex < status.commitIndex) return false;
  for (const id of [...status.membership.voters, ...status.membership.learners]) {
    if (id === keptDown) continue;
    const applied = cluster.nodes.get(id)?.raft?.status().appliedIndex;
    if (applied === undefined || applied < status.commitIndex) return false;
  }
  return true;
}

function finalChecks(cluster: NodeCluster, workload: NodeWorkload): string[] {
  cluster.checkLogMatching();
  const status = cluster.leader()?.raft?.status();
  if (status === undefined) return ["final: no leader"];
  const finalLog: string[] = [];
  for (let index = 1; index <= status.commitIndex; index++) {
    const values = cluster.checkers.committedValues.get(index);
    if (values === undefined) return [`final: committed index ${index} was never applied`];
    finalLog.push(...values.map((text) => valueOf(new TextEncoder().encode(text))));
  }
  return [
    ...cluster.checkers.violations,
    ...checkHistory(workload.history, finalLog).map((problem) => `history: ${problem}`),
  ];
}

/** Crashes (often while a node's disk is busy), network faults, transfers, changes. */
class NodeFaults {
  readonly #cluster: NodeCluster;
  readonly #random: SeededRandom;
  readonly #ids: string[];
  #healed = false;

  constructor(cluster: NodeCluster, random: SeededRandom) {
    this.#cluster = cluster;
    this.#random = random;
    this.#ids = [...cluster.nodes.keys()];
  }

  schedule(untilMs: number): void {
    const next = () => {
      if (this.#cluster.scheduler.nowMs >= untilMs) return;
      this.#injectOne();
      this.#cluster.scheduler.after(this.#random.intBetween(20, 300), next);
    };
    this.#cluster.scheduler.after(this.#random.intBetween(100, 600), next);
  }

  #injectOne(): void {
    const roll = this.#random.intBelow(100);
    if (roll < 18) this.#crashOne();
    else if (roll < 24) this.#isolateLeader();
    else if (roll < 30) this.#partition();
    else if (roll < 36) this.#cutOneWay();
    else if (roll < 46) this.#healNetwork();
    else if (roll < 54) this.#connectionFault();
    else if (roll < 64) this.#transfer();
    else if (roll < 74) this.#changeMembership();
    else if (roll < 82) this.#retention();
    else if (roll < 88) this.#crashAfterOperation();
    else this.#restartAll();
  }

  #node(): NodeSim {
    return this.#cluster.nodes.get(
      this.#ids[this.#random.intBelow(this.#ids.length)] as string,
    ) as NodeSim;
  }

  #restartLater(node: NodeSim): void {
    const downMs = this.#random.chance(0.5)
      ? this.#random.intBetween(1, 100)
      : this.#random.intBetween(100, 1500);
    this.#cluster.scheduler.after(downMs, () => {
      if (!this.#healed) this.#cluster.start(node);
    });
  }

  /** Crash the leader, a node whose disk is busy (inside a multi-step persist), or any node. */
  #crashOne(): void {
    const leader = this.#cluster.leader();
    const busy = [...this.#cluster.nodes.values()].filter((node) =>
      node.alive && node.disk.busy() > 0
    );
    const roll = this.#random.intBelow(3);
    const node = roll === 0 && leader !== null
      ? leader
      : roll === 1 && busy.length > 0
      ? busy[this.#random.intBelow(busy.length)] as NodeSim
      : this.#node();
    if (!node.alive) return;
    this.#cluster.crash(node);
    this.#restartLater(node);
  }

  /** A transfer, change or snapshot starts, and a node crashes a few ms into it. */
  #crashAfterOperation(): void {
    const op = this.#random.intBelow(3);
    if (op === 0) this.#transfer();
    else if (op === 1) this.#changeMembership();
    else this.#retention();
    this.#cluster.scheduler.after(this.#random.intBetween(0, 15), () => {
      if (!this.#healed) this.#crashOne();
    });
  }

  #cut(a: string, b: string): void {
    this.#cluster.net.cuts.add(`${a}>${b}`);
  }

  #partition(): void {
    const shuffled = this.#random.shuffle(this.#ids.slice());
    const at = this.#random.intBetween(1, shuffled.length - 1);
    for (const a of shuffled.slice(0, at)) {
      for (const b of shuffled.slice(at)) [this.#cut(a, b), this.#cut(b, a)];
    }
    this.#cluster.net.enforceCuts();
  }

  #isolateLeader(): void {
    const leader = this.#cluster.leader();
    if (leader === null) return;
    for (const id of this.#ids) {
      if (id !== leader.id) [this.#cut(leader.id, id), this.#cut(id, leader.id)];
    }
    this.#cluster.net.enforceCuts();
  }

  #cutOneWay(): void {
    const [a, b] = this.#random.shuffle(this.#ids.slice());
    this.#cut(a as string, b as string);
    this.#cluster.net.enforceCuts();
  }

  #healNetwork(): void {
    this.#cluster.net.cuts.clear();
    const quality = this.#cluster.net.quality;
    quality.resetRate = this.#random.chance(0.5) ? 0 : this.#random.next() * 0.05;
    // Frames carry a checksum: a flipped bit must cost a connection, never a wrong message.
    quality.corruptRate = this.#random.chance(0.5) ? 0 : this.#random.next() * 0.05;
    this.#cluster.net.quality.delayMsMax = [3, 10, 40, 120][this.#random.intBelow(4)] as number;
  }

  /** Reset, hang (for a while) or linger one open connection. */
  #connectionFault(): void {
    const connections = this.#cluster.net.connections();
    const connection = connections[this.#random.intBelow(Math.max(1, connections.length))];
    if (connection === undefined) return;
    const kind = this.#random.intBelow(3);
    if (kind === 0) connection.reset();
    else if (kind === 1) connection.linger();
    else {
      // Half the time the receiver never reads that connection again (a hung process): only
      // the sender's write timeout gets the peer back, through a fresh connection.
      connection.hang();
      if (this.#random.chance(0.5)) {
        this.#cluster.scheduler.after(this.#random.intBetween(50, 1500), () => connection.unhang());
      }
    }
  }

  #transfer(): void {
    const raft = this.#cluster.leader()?.raft;
    if (raft === null || raft === undefined) return;
    const voters = raft.status().membership.voters;
    try {
      raft.transferLeadership(voters[this.#random.intBelow(voters.length)] as string);
    } catch (error) {
      if (!expectedRefusal(error)) throw error;
    }
  }

  /** Remove a voter (keeping at least 2), re-add removed nodes as learners, promote learners. */
  #changeMembership(): void {
    const raft = this.#cluster.leader()?.raft;
    if (raft === null || raft === undefined) return;
    const { voters, learners } = raft.status().membership;
    const absent = this.#ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const change = learners.length > 0
      ? { type: "addVoter" as const, id: learners[0] as string }
      : absent.length > 0
      ? { type: "addLearner" as const, id: absent[0] as string }
      : voters.length > 2
      ? { type: "remove" as const, id: voters[this.#random.intBelow(voters.length)] as string }
      : null;
    if (change === null) return;
    raft.changeMembership(change).catch((error) => {
      if (!expectedRefusal(error)) throw error;
    });
  }

  /** Retention on one node: drop applied entries, so laggards need InstallSnapshot. */
  #retention(): void {
    const node = this.#node();
    const store = node.store;
    const status = node.raft?.status();
    if (store === null || status === undefined) return;
    const beforeIndex = status.appliedIndex + 1 - this.#random.intBetween(0, 5);
    if (beforeIndex <= store.firstIndex()) return;
    store.deletePrefix(beforeIndex).catch((error) => {
      if (!isStorageFailure(error)) {
        this.#cluster.checkers.violations.push(`retention on ${node.id} failed: ${error}`);
      }
    });
  }

  #restartAll(): void {
    for (const node of this.#cluster.nodes.values()) this.#cluster.start(node);
  }

  /**
   * Crashes `id` right after the current event (inside the window after it sent something)
   * or `delayMs` later (inside the disk work it started).
   */
  crashSoon(id: string, delayMs = 0): void {
    const node = this.#cluster.nodes.get(id) as NodeSim;
    const generation = node.generation;
    this.#cluster.scheduler.after(delayMs, () => {
      if (!node.alive || node.generation !== generation || this.#healed) return;
      this.#cluster.crash(node);
      this.#restartLater(node);
    });
  }

  /** Crashes a leader that committed past its durable log (see crashCommittedUnsynced). */
  crashLeaderAhead(roll: () => boolean): void {
    if (this.#healed) return;
    for (const node of this.#cluster.running()) {
      const status = node.raft?.status();
      if (status?.role !== "leader" || node.store === null) continue;
      if (status.commitIndex > node.store.lastIndex() && roll()) this.crashSoon(node.id);
    }
  }

  /**
   * A disk fault (EIO / ENOSPC) fails the node's storage: the log and the driver stop
   * (fail-stop) and a little later the node's machine restarts (a crash: unsynced data is
   * lost). A start that failed on a fault is retried the same way. A plain process restart is
   * not modelled: after a failed fsync Linux marks the lost pages clean, so the new process
   * reads data that is not on disk, and no application can tell.
   */
  superviseDisks(): void {
    for (const node of this.#cluster.nodes.values()) {
      node.disk.onFault = () => {
        node.faultedGeneration = node.generation;
        this.crashSoon(node.id, this.#random.intBetween(1, 200));
      };
    }
    this.#cluster.onFailedStart = (node) => {
      // As after any disk fault, the machine restarts: see restartFaulted.
      node.disk.crash();
      if (!this.#healed) this.#restartLater(node);
    };
  }

  /**
   * End of the fault phase: a clean network and every node running, except — when
   * `keepOneDown` and a minority allows it — one voter, returned, which stays down.
   */
  healAll(keepOneDown: boolean, keepCorrupted: boolean): string | null {
    for (const node of this.#cluster.nodes.values()) {
      node.disk.faults = { ...node.disk.faults, writeErrorP: 0, syncErrorP: 0 };
      // A node whose storage failed is restarted (its supervisor's job), after a power loss:
      // once an fsync failed, Linux marks the lost pages clean, so a mere process restart
      // would read data that is not on disk and a later crash would lose it.
      if (node.faultedGeneration !== node.generation) continue;
      if (node.alive) this.#cluster.crash(node);
      else node.disk.crash();
    }
    this.#cluster.net.cuts.clear();
    this.#cluster.net.quality.delayMsMax = Math.min(this.#cluster.net.quality.delayMsMax, 40);
    for (const connection of this.#cluster.net.connections()) {
      if (connection.corrupted && !keepCorrupted) connection.reset();
    }
    this.#cluster.net.quality.resetRate = 0;
    this.#cluster.net.quality.corruptRate = 0;
    this.#restartAll();
    this.#healed = true;
    if (!keepOneDown || this.#ids.length < 5) return null;
    const voters = this.#cluster.leader()?.raft?.status().membership.voters ?? [];
    if (voters.length < 5) return null;
    const id = voters[this.#random.intBelow(voters.length)] as string;
    this.#cluster.crash(this.#cluster.nodes.get(id) as NodeSim);
    return id;
  }
}

/**
 * A refusal the simulation expects: a RaftError (not leader, change pending...), or the
 * storage error a node whose disk failed answers every request with (fail-stop).
 */
function expectedRefusal(error: unknown): boolean {
  return error instanceof RaftError || isStorageFailure(error);
}
