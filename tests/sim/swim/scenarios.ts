/**
 * Seeded scenarios for the SWIM simulation. Every parameter (cluster size, faults, who
 * crashes or leaves and when) is drawn from the seed, so `runScenario(kind, seed)` replays
 * a run exactly. Results carry readable violations; an empty list means the run passed.
 */

import {
  defaultConfig,
  failureDetectionBoundMs,
  pushPullIntervalMs,
} from "../../../discovery/mod.ts";
import { SeededRandom } from "../random.ts";
import {
  checkDetection,
  checkLeftNeverFailed,
  checkNoFalseFailures,
  checkNoResurrection,
  checkSuspicionRates,
  probeFailureProbability,
  viewMismatches,
} from "./checkers.ts";
import { type NetworkOptions, SimCluster, type SimNode } from "./cluster.ts";

/** The scenarios the CI and the replay task know. */
export const scenarioKinds = [
  "crash",
  "loss",
  "partition",
  "leave",
  "join",
  "rejoin",
  "tags",
  "pause",
  "chaos",
  "tombstones",
  "restart",
  "duplicate",
  "replay",
] as const;
/** One of {@linkcode scenarioKinds}. */
export type ScenarioKind = typeof scenarioKinds[number];

/** What a run found. */
export interface ScenarioResult {
  readonly kind: ScenarioKind;
  readonly seed: number;
  readonly size: number;
  readonly violations: string[];
  /** Short description of the drawn parameters, printed on failure and by the replay. */
  readonly notes: string[];
}

/** Options that let a longer run (or the benchmark) force parameters. */
export interface ScenarioOptions {
  size?: number;
}

/**
 * After a partition heals, views converge within this: a reconnect attempt (every
 * `reconnectIntervalMs`, with probability failed/live per node), then epidemic spread.
 */
export const healConvergenceBoundMs = 2 * defaultConfig.reconnectIntervalMs +
  defaultConfig.pushPullIntervalMs;

/**
 * After the last join, views converge within this. Gossip usually does it in about a
 * second; a member that missed a join's alive gossip learns it at the latest from a
 * periodic push/pull (first one 1–2 intervals after start) or when the newcomer probes it.
 */
export function joinConvergenceBoundMs(size: number): number {
  return 2 * pushPullIntervalMs(defaultConfig, size) + 10_000;
}

const names = (count: number): string[] => Array.from({ length: count }, (_, i) => `node-${i}`);

function formedCluster(random: SeededRandom, size: number, network: Partial<NetworkOptions>) {
  const cluster = new SimCluster({ seed: random.nextUint32(), network });
  for (const name of names(size)) cluster.addNode(name, { role: "voter" });
  cluster.bootstrap();
  return cluster;
}

function describeNetwork(network: Partial<NetworkOptions>): string {
  return `loss=${network.lossRate ?? 0} delay=${network.delayMsMin ?? 1}..${
    network.delayMsMax ?? 10
  }ms duplicate=${network.duplicateRate ?? 0}`;
}

function randomNetwork(random: SeededRandom, lossMax: number): Partial<NetworkOptions> {
  return {
    lossRate: Math.round(random.next() * lossMax * 1000) / 1000,
    delayMsMin: 1,
    delayMsMax: random.intBetween(2, 40),
    duplicateRate: random.chance(0.3) ? 0.02 : 0,
  };
}

/** Runs one scenario from its seed. */
export function runScenario(
  kind: ScenarioKind,
  seed: number,
  options: ScenarioOptions = {},
): ScenarioResult {
  const random = new SeededRandom(seed);
  switch (kind) {
    case "crash":
      return crashScenario(random, seed, options);
    case "loss":
      return lossScenario(random, seed, options);
    case "partition":
      return partitionScenario(random, seed, options);
    case "leave":
      return leaveScenario(random, seed, options);
    case "join":
      return joinScenario(random, seed, options);
    case "rejoin":
      return rejoinScenario(random, seed, options);
    case "tags":
      return tagsScenario(random, seed, options);
    case "pause":
      return pauseScenario(random, seed, options);
    case "chaos":
      return chaosScenario(random, seed, options);
    case "tombstones":
      return tombstonesScenario(random, seed, options);
    case "restart":
      return restartScenario(random, seed, options);
    case "duplicate":
      return duplicateScenario(random, seed, options);
    case "replay":
      return replayScenario(random, seed, options);
  }
}

function pickDistinct(random: SeededRandom, pool: readonly string[], count: number): string[] {
  return random.shuffle([...pool]).slice(0, count);
}

/** Crashes 1–3 members under loss, delay, reordering; all must detect them in the bound. */
function crashScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? (random.chance(0.1) ? 100 : random.intBetween(3, 40));
  const network = randomNetwork(random, 0.05);
  const cluster = formedCluster(random, size, network);
  const crashCount = Math.min(random.intBetween(1, 3), Math.max(1, Math.floor((size - 1) / 2)));
  const victims = pickDistinct(random, names(size), crashCount);
  const boundMs = failureDetectionBoundMs(defaultConfig, size);
  let lastCrashMs = 0;
  for (const victim of victims) {
    cluster.runUntil(cluster.nowMs + random.intBetween(1_000, 6_000));
    cluster.crash(victim);
    lastCrashMs = cluster.nowMs;
  }
  cluster.runUntil(lastCrashMs + boundMs + 1_000);
  return {
    kind: "crash",
    seed,
    size,
    violations: [...checkDetection(cluster, boundMs), ...checkNoFalseFailures(cluster)],
    notes: [describeNetwork(network), `crashed=${victims.join(",")}`, `boundMs=${boundMs}`],
  };
}

/** 10% loss, no crash, `rounds` probe rounds: nobody may be declared failed. */
function lossScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? 50;
  const rounds = 1_000;
  const network = { lossRate: 0.1, delayMsMin: 1, delayMsMax: random.intBetween(2, 20) };
  const cluster = formedCluster(random, size, network);
  cluster.runUntil(rounds * defaultConfig.probeIntervalMs);
  // At any instant some member may be briefly suspect under loss; views must still agree
  // once those suspicions are refuted.
  const convergedAtMs = runUntilConverged(cluster, cluster.nowMs + 10_000);
  const rates = checkSuspicionRates(
    cluster,
    rounds,
    probeFailureProbability(network.lossRate, defaultConfig.indirectChecks),
  );
  return {
    kind: "loss",
    seed,
    size,
    violations: [
      ...checkNoFalseFailures(cluster),
      ...rates.violations,
      ...(convergedAtMs === null ? viewMismatches(cluster) : []),
    ],
    notes: [describeNetwork(network), `rounds=${rounds}`, rates.note],
  };
}

/** A symmetric or one-way partition that heals; afterwards all views must converge. */
function partitionScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(4, 30);
  const network = randomNetwork(random, 0.03);
  const cluster = formedCluster(random, size, network);
  const shuffled = random.shuffle(names(size));
  const cut = random.intBetween(1, size - 1);
  const sideA = shuffled.slice(0, cut);
  const sideB = shuffled.slice(cut);
  const oneWay = random.chance(0.5);
  const partitionMs = random.intBetween(2_000, 40_000);
  cluster.runUntil(random.intBetween(1_000, 5_000));
  cluster.partition(sideA, sideB, oneWay);
  cluster.runUntil(cluster.nowMs + partitionMs);
  cluster.heal();
  const healedAtMs = cluster.nowMs;
  const convergedAtMs = runUntilConverged(cluster, healedAtMs + healConvergenceBoundMs);
  const violations = convergedAtMs === null
    ? [
      `views did not converge within ${healConvergenceBoundMs} ms of the heal`,
      ...viewMismatches(cluster),
    ]
    : [];
  return {
    kind: "partition",
    seed,
    size,
    violations,
    notes: [
      describeNetwork(network),
      `${
        oneWay ? "one-way" : "symmetric"
      } partition ${sideA.length}|${sideB.length} for ${partitionMs} ms`,
      `converged ${
        convergedAtMs === null ? "never" : `${convergedAtMs - healedAtMs} ms after heal`
      }`,
    ],
  };
}

/** Steps until views agree (checked every second), returning the time or null. */
export function runUntilConverged(cluster: SimCluster, untilMs: number): number | null {
  let convergedAtMs: number | null = null;
  let nextCheckMs = cluster.nowMs;
  if (viewMismatches(cluster).length === 0) return cluster.nowMs;
  cluster.runUntil(untilMs, () => {
    if (cluster.nowMs < nextCheckMs) return false;
    nextCheckMs = cluster.nowMs + 1_000;
    if (viewMismatches(cluster).length > 0) return false;
    convergedAtMs = cluster.nowMs;
    return true;
  });
  return convergedAtMs;
}

/** Graceful leaves under loss: never reported failed; everyone sees them left. */
function leaveScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(3, 40);
  const network = randomNetwork(random, 0.1);
  const cluster = formedCluster(random, size, network);
  const leavers = pickDistinct(random, names(size), Math.min(3, size - 2));
  for (const leaver of leavers) {
    cluster.runUntil(cluster.nowMs + random.intBetween(200, 5_000));
    cluster.leave(leaver);
  }
  const convergedAtMs = runUntilConverged(cluster, cluster.nowMs + 30_000);
  // Keep running: a member that missed a leave would suspect, then fail, it only later.
  cluster.runUntil(cluster.nowMs + 20_000);
  const violations = [...checkLeftNeverFailed(cluster), ...checkNoFalseFailures(cluster)];
  if (convergedAtMs === null) {
    violations.push("views did not converge after the leaves", ...viewMismatches(cluster));
  }
  return {
    kind: "leave",
    seed,
    size,
    violations,
    notes: [describeNetwork(network), `left=${leavers.join(",")}`],
  };
}

/** Members join one by one through push/pull with a random earlier member. */
function joinScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(3, 50);
  const network = randomNetwork(random, 0.05);
  const cluster = new SimCluster({ seed: random.nextUint32(), network });
  const all = names(size);
  cluster.addNode(all[0] as string);
  for (let i = 1; i < size; i++) {
    cluster.runUntil(cluster.nowMs + random.intBetween(0, 300));
    cluster.addNode(all[i] as string);
    cluster.join(all[i] as string, [all[random.intBelow(i)] as string]);
  }
  const lastJoinMs = cluster.nowMs;
  const convergedAtMs = runUntilConverged(cluster, lastJoinMs + joinConvergenceBoundMs(size));
  const violations = checkNoFalseFailures(cluster);
  if (convergedAtMs === null) {
    violations.push(
      `views did not converge within ${joinConvergenceBoundMs(size)} ms`,
      ...viewMismatches(cluster),
    );
  }
  return {
    kind: "join",
    seed,
    size,
    violations,
    notes: [
      describeNetwork(network),
      `converged ${
        convergedAtMs === null ? "never" : `${convergedAtMs - lastJoinMs} ms after last join`
      }`,
    ],
  };
}

/** A crashed member comes back under its name at a new address and replaces its entry. */
function rejoinScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(3, 30);
  const network = randomNetwork(random, 0.03);
  const cluster = formedCluster(random, size, network);
  const [victim] = pickDistinct(random, names(size), 1) as [string];
  cluster.runUntil(random.intBetween(500, 3_000));
  cluster.crash(victim);
  // Come back before or after the failure was detected: both must end with the new entry.
  cluster.runUntil(cluster.nowMs + random.intBetween(500, 15_000));
  const node = cluster.addNode(victim, { role: "voter", generation: "2" });
  const seedName = names(size).find((name) => name !== victim) as string;
  // While the seed still holds the old instance live, the join is refused: retry, as the
  // agent does, until the old instance is declared failed.
  const admitted = joinWithRetries(cluster, node, [seedName]);
  const convergedAtMs = runUntilConverged(cluster, cluster.nowMs + 30_000);
  const violations = convergedAtMs === null ? ["views did not converge after the rejoin"] : [];
  if (!admitted) violations.push(`${victim} was never admitted (${node.joinRefusals} refusals)`);
  return {
    kind: "rejoin",
    seed,
    size,
    violations: [...violations, ...viewMismatches(cluster)],
    notes: [describeNetwork(network), `rejoined=${victim}`, `refusals=${node.joinRefusals}`],
  };
}

/** Tags updated at run time reach every member. */
function tagsScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(3, 40);
  const network = randomNetwork(random, 0.1);
  const cluster = formedCluster(random, size, network);
  const [owner] = pickDistinct(random, names(size), 1) as [string];
  cluster.runUntil(random.intBetween(100, 3_000));
  const rpcAddress = `10.9.9.${random.intBelow(256)}:8400`;
  cluster.setTags(owner, { role: "voter", rpcAddress });
  const startMs = cluster.nowMs;
  let seenAtMs: number | null = null;
  cluster.runUntil(startMs + joinConvergenceBoundMs(size), () => {
    const missing = cluster.running().some((node) =>
      cluster.viewOf(node, owner)?.tags["rpcAddress"] !== rpcAddress
    );
    if (missing) return false;
    seenAtMs = cluster.nowMs;
    return true;
  });
  return {
    kind: "tags",
    seed,
    size,
    violations: seenAtMs === null
      ? [`tags of ${owner} did not reach everyone in ${joinConvergenceBoundMs(size)} ms`]
      : [],
    notes: [
      describeNetwork(network),
      `spread in ${seenAtMs === null ? "never" : seenAtMs - startMs} ms`,
    ],
  };
}

/** Least time a paused member runs before its next pause (to refute what it missed). */
const awakeMsMin = 200;

/**
 * Lifeguard's case: members freeze for up to a second at a time (GC, an overloaded host)
 * and wake up to expired probe deadlines. A slow member may be suspected, but a pause is
 * shorter than the least suspicion timeout, so it refutes in time: nobody, the slow
 * members included, may be declared failed, and a slow member must never get a healthy
 * one declared failed.
 */
function pauseScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(5, 40);
  const network = randomNetwork(random, 0.05);
  const cluster = formedCluster(random, size, network);
  const slow = pickDistinct(random, names(size), Math.max(1, Math.floor(size / 10)));
  const endMs = 120_000;
  let pauses = 0;
  for (let step = 0; step < 1_000 && cluster.nowMs < endMs; step++) {
    cluster.runUntil(cluster.nowMs + random.intBetween(200, 3_000));
    const name = slow[random.intBelow(slow.length)] as string;
    // At most a second frozen at a time, and awake at least `awakeMsMin` in between:
    // back-to-back pauses would be one long freeze, which a suspicion rightly ends.
    const awakeFromMs = (cluster.nodes.get(name)?.pausedUntilMs ?? 0) + awakeMsMin;
    if (awakeFromMs > cluster.nowMs) cluster.runUntil(awakeFromMs);
    cluster.pause(name, random.intBetween(100, 1_000));
    pauses++;
  }
  cluster.runUntil(cluster.nowMs + 2_000);
  // Slow members count too: a pause shorter than the suspicion timeout must be refuted in
  // time, so nobody, slow or not, may be declared failed.
  const violations = checkNoFalseFailures(cluster);
  const slowAwareness = slow.map((name) => cluster.nodes.get(name)?.core.awareness ?? 0);
  return {
    kind: "pause",
    seed,
    size,
    violations,
    notes: [
      describeNetwork(network),
      `slow=${slow.join(",")}`,
      `pauses=${pauses}`,
      `awareness=${slowAwareness.join(",")}`,
    ],
  };
}

/**
 * Everything at once: crashes, graceful leaves, joins and rejoins, pauses, tag updates and
 * (one-way or symmetric) partitions, under loss. Checked: once the last partition heals,
 * views converge; a member that left while the network was whole is never reported failed.
 */
function chaosScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(5, 30);
  const network = randomNetwork(random, 0.05);
  const cluster = formedCluster(random, size, network);
  const log: string[] = [];
  let partitioned = false;
  // A leave is checked in a settled network: a partition right after it legitimately turns
  // it into a failure on the far side, and a suspicion begun during a partition that just
  // healed may still expire as a failure. So leaves keep 10 s away from partitions.
  let lastLeaveMs = -Infinity;
  let lastHealMs = -Infinity;
  // Newcomers join through seed members that stay up (an operator's --start-join-addrs):
  // if every member bridging two groups died, no live member would know the other group,
  // and SWIM (like serf) cannot rediscover it.
  const seeds = ["node-0", "node-1"];
  for (let step = 0; step < 40; step++) {
    cluster.runUntil(cluster.nowMs + random.intBetween(100, 3_000));
    const running = cluster.running().map((node) => node.name);
    const pick = running[random.intBelow(running.length)] as string;
    const action = random.intBelow(7);
    const mortal = !seeds.includes(pick);
    if (action === 0 && running.length > 3 && mortal) cluster.crash(pick);
    else if (
      action === 1 && running.length > 3 && mortal && !partitioned &&
      cluster.nowMs - lastHealMs > 10_000 &&
      // A node whose join has not been answered yet has nobody to tell it leaves.
      (cluster.nodes.get(pick)?.core.liveCount ?? 0) > 1
    ) {
      cluster.leave(pick);
      lastLeaveMs = cluster.nowMs;
    } else if (action === 2) {
      const name = `late-${step}`;
      cluster.addNode(name);
      cluster.join(name, [seeds[random.intBelow(seeds.length)] as string]);
    } else if (action === 3) cluster.pause(pick, random.intBetween(100, 1_000));
    else if (action === 4) cluster.setTags(pick, { step: String(step) });
    else if (action === 5 && !partitioned && cluster.nowMs - lastLeaveMs > 10_000) {
      const side = random.shuffle([...running]).slice(0, random.intBetween(1, running.length - 1));
      cluster.partition(side, running.filter((name) => !side.includes(name)), random.chance(0.5));
      partitioned = true;
    } else if (action === 6 && partitioned) {
      cluster.heal();
      partitioned = false;
      lastHealMs = cluster.nowMs;
    } else continue;
    log.push(`${action}:${pick}@${cluster.nowMs}`);
  }
  cluster.heal();
  // A join cut off by a partition (or answered from a seed's stale view whose members
  // then died) leaves a node alone: like the agent, retry its join once that shows.
  cluster.runUntil(cluster.nowMs + 20_000);
  const running = cluster.running();
  for (const node of running) {
    if (node.core.liveCount > 1 || running.length < 2) continue;
    cluster.join(node.name, seeds);
  }
  const healedAtMs = cluster.nowMs;
  const convergedAtMs = runUntilConverged(cluster, healedAtMs + healConvergenceBoundMs);
  const violations = checkLeftNeverFailed(cluster);
  if (convergedAtMs === null) {
    violations.push(`views did not converge within ${healConvergenceBoundMs} ms of the heal`);
    violations.push(...viewMismatches(cluster));
  }
  return {
    kind: "chaos",
    seed,
    size,
    violations,
    notes: [
      describeNetwork(network),
      `actions=${log.length} ${log.join(" ")}`,
      `running=${cluster.running().length}`,
    ],
  };
}

/** Joins `node` through `seeds`, retrying every 2 s while refused; true once admitted. */
function joinWithRetries(cluster: SimCluster, node: SimNode, seeds: readonly string[]): boolean {
  for (let attempt = 0; attempt < 30 && node.joinedAtMs === null; attempt++) {
    cluster.joinNode(node, seeds);
    cluster.runUntil(cluster.nowMs + 2_000);
  }
  return node.joinedAtMs !== null;
}

/** Gives every running member `count` departed (left) members, as after heavy churn. */
function addTombstones(cluster: SimCluster, count: number): void {
  const ghosts = Array.from({ length: count }, (_, i) => ({
    name: `departed-${i}`,
    address: `10.200.${i >> 8}.${i & 255}:7946`,
    incarnation: 0,
    status: "alive" as const,
    tags: {},
  }));
  const left = ghosts.map((ghost) => ({ ...ghost, status: "left" as const }));
  for (const node of cluster.running()) {
    node.core.mergeRemoteState(cluster.localNow(node), ghosts);
    node.core.mergeRemoteState(cluster.localNow(node), left);
    node.core.takeReady();
  }
}

/**
 * Many departed members (tombstones kept for reaping) next to few live ones, under 10%
 * loss: probes, gossip and push/pull must sample live members only, so suspicions and
 * refutations stay within the same bounds as without tombstones (sampling over
 * tombstones raised them about 6x), and nobody is declared failed.
 */
function tombstonesScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(8, 40);
  const departed = random.intBetween(400, defaultConfig.membersMax - size);
  const network = { lossRate: 0.1, delayMsMin: 1, delayMsMax: random.intBetween(2, 20) };
  const cluster = formedCluster(random, size, network);
  addTombstones(cluster, departed);
  const rounds = 300;
  cluster.runUntil(rounds * defaultConfig.probeIntervalMs);
  const rates = checkSuspicionRates(
    cluster,
    rounds,
    probeFailureProbability(network.lossRate, defaultConfig.indirectChecks),
  );
  return {
    kind: "tombstones",
    seed,
    size,
    violations: [...checkNoFalseFailures(cluster), ...rates.violations],
    notes: [describeNetwork(network), `departed=${departed}`, rates.note],
  };
}

/**
 * A crashed member restarts in place (same name, same address, incarnation 0), before or
 * after its failure was detected: it is never refused, and every view ends with it alive.
 */
function restartScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(3, 30);
  const network = randomNetwork(random, 0.03);
  const cluster = formedCluster(random, size, network);
  const [victim] = pickDistinct(random, names(size), 1) as [string];
  cluster.runUntil(random.intBetween(500, 3_000));
  const old = cluster.nodes.get(victim) as SimNode;
  cluster.crash(victim);
  const downMs = random.intBetween(200, 15_000);
  cluster.runUntil(cluster.nowMs + downMs);
  const node = cluster.addNode(victim, { role: "voter" }, { address: old.address });
  const seedName = names(size).find((name) => name !== victim) as string;
  const admitted = joinWithRetries(cluster, node, [seedName]);
  const convergedAtMs = runUntilConverged(cluster, cluster.nowMs + 30_000);
  const violations: string[] = [];
  if (!admitted || node.joinRefusals > 0) {
    violations.push(`${victim} restarted in place was refused ${node.joinRefusals} times`);
  }
  if (convergedAtMs === null) {
    violations.push("views did not converge after the restart", ...viewMismatches(cluster));
  }
  return {
    kind: "restart",
    seed,
    size,
    violations,
    notes: [describeNetwork(network), `restarted=${victim} after ${downMs} ms`],
  };
}

/**
 * A second process starts under a live member's name at another address and tries to
 * join through several seeds, repeatedly: every join is refused, no view ever holds the
 * name at the impostor's address, and the original is never flipped nor declared failed.
 */
function duplicateScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(3, 30);
  const network = randomNetwork(random, 0.03);
  const cluster = formedCluster(random, size, network);
  const [original, ...others] = pickDistinct(random, names(size), size) as [string, ...string[]];
  cluster.runUntil(random.intBetween(500, 3_000));
  const impostor = cluster.addNode(original, { role: "impostor" }, { register: false });
  // An impostor that already raised its incarnation (it set tags, or refuted elsewhere)
  // outbids the original: only the name rule, not incarnations, may keep it out.
  for (let i = 0; i < 20; i++) {
    impostor.core.setTags(cluster.localNow(impostor), { role: "impostor", round: String(i) });
  }
  impostor.core.takeReady();
  const attempts = random.intBetween(2, 6);
  for (let attempt = 0; attempt < attempts; attempt++) {
    cluster.joinNode(impostor, pickDistinct(random, others, Math.min(2, others.length)));
    cluster.runUntil(cluster.nowMs + random.intBetween(500, 5_000));
  }
  const suspectedBy = joinWhileSuspected(cluster, impostor, original, others);
  cluster.runUntil(cluster.nowMs + 5_000);
  const violations = [...checkNoFalseFailures(cluster), ...viewMismatches(cluster)];
  if (impostor.joinedAtMs !== null) violations.push(`the impostor was admitted`);
  if (impostor.joinRefusals === 0) violations.push(`no join of the impostor was refused`);
  for (const { observer, event } of cluster.events) {
    if (event.member.address !== impostor.address) continue;
    violations.push(`${observer.name} reported ${event.type} of the impostor's address`);
    break;
  }
  const conflicts = cluster.running().reduce((sum, n) => sum + n.core.stats.nameConflicts, 0);
  return {
    kind: "duplicate",
    seed,
    size,
    violations,
    notes: [
      describeNetwork(network),
      `original=${original} attempts=${attempts} refusals=${impostor.joinRefusals}`,
      `conflicts=${conflicts}`,
      `joined while suspected by ${suspectedBy ?? "nobody"}`,
    ],
  };
}

/** Longest pause of the original in the duplicate scenario: below any suspicion timeout. */
const originalPauseMs = 1_000;

/**
 * The original freezes (a GC pause) and its probers suspect it; the impostor then joins
 * through the first member that holds it suspect, before it wakes. A suspect is still a
 * live member, so the join must be refused all the same. Returns that seed, or null when
 * nobody suspected the original in time (then no join is attempted).
 */
function joinWhileSuspected(
  cluster: SimCluster,
  impostor: SimNode,
  original: string,
  others: readonly string[],
): string | null {
  cluster.pause(original, originalPauseMs);
  // Stop early enough that the join request (delay at most 40 ms) lands during the pause.
  const lastJoinMs = cluster.nowMs + originalPauseMs - 100;
  let seed: string | null = null;
  cluster.runUntil(lastJoinMs, () => {
    seed = others.find((name) => {
      const node = cluster.nodes.get(name);
      return node !== undefined && cluster.viewOf(node, original)?.status === "suspect";
    }) ?? null;
    return seed !== null;
  });
  if (seed !== null) cluster.joinNode(impostor, [seed]);
  return seed;
}

/**
 * An attacker records every packet (sealed packets replay fine: they authenticate) and
 * plays them all back after the members that left or crashed were reaped: none of them
 * may come back, in events or in views.
 */
function replayScenario(
  random: SeededRandom,
  seed: number,
  options: ScenarioOptions,
): ScenarioResult {
  const size = options.size ?? random.intBetween(5, 20);
  const network = randomNetwork(random, 0.03);
  const config = { tombstoneTimeoutMs: 10_000, reconnectTimeoutMs: 10_000, reapIntervalMs: 1_000 };
  const cluster = new SimCluster({ seed: random.nextUint32(), network, config });
  for (const name of names(size)) cluster.addNode(name, { role: "voter" });
  cluster.bootstrap();
  cluster.recordPackets = true;
  const departing = pickDistinct(random, names(size), random.intBetween(2, Math.floor(size / 2)));
  for (const [index, name] of departing.entries()) {
    cluster.runUntil(cluster.nowMs + random.intBetween(200, 2_000));
    if (index % 2 === 0) cluster.leave(name);
    else cluster.crash(name);
  }
  // Detected, then reaped everywhere: failure detection, the tombstone window, a reap.
  cluster.runUntil(cluster.nowMs + failureDetectionBoundMs(defaultConfig, size) + 12_000);
  cluster.recordPackets = false;
  const replayedAtMs = cluster.nowMs;
  const packets = cluster.recorded.length;
  cluster.replay(cluster.recorded, 10_000);
  cluster.runUntil(cluster.nowMs + 20_000);
  const violations = [
    ...checkNoResurrection(cluster, new Set(departing), replayedAtMs),
    ...checkNoFalseFailures(cluster),
  ];
  const stale = cluster.running().reduce((sum, n) => sum + n.core.stats.staleAlives, 0);
  return {
    kind: "replay",
    seed,
    size,
    violations,
    notes: [
      describeNetwork(network),
      `departed=${departing.join(",")}`,
      `replayed=${packets} staleAlives=${stale}`,
    ],
  };
}
