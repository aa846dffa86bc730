/**
 * The nemesis run: client workers append and read against a cluster in network namespaces
 * while a nemesis kills (SIGKILL + restart), pauses (SIGSTOP/SIGCONT) and partitions nodes
 * on a schedule drawn from a seed. Afterwards every fault is healed, every node must hold
 * the same dense log, and the recorded history must pass the linearizability checker (no
 * acknowledged record lost, every read consistent).
 *
 * `deno task chaos [--duration-s 60] [--seed N] [--nodes 3|5]` runs it for as long as asked
 * and prints the seed and the schedule; the same seed replays the same schedule.
 * @module
 */
import { parseArgs } from "node:util";
import { SeededRandom } from "../sim/random.ts";
import { ChaosCluster, readAll, until } from "./_cluster.ts";
import { History } from "./_history.ts";
import { chaosNet } from "./_net.ts";

/** One fault: applied at `atMs` (from the start), healed `holdMs` later. */
export interface Fault {
  readonly atMs: number;
  readonly kind: "kill" | "pause" | "isolate" | "split";
  /** Nodes affected (for split: the minority side). */
  readonly nodes: number[];
  /** Aim at the leader of the moment instead (the minority side of a split holds it). */
  readonly onLeader: boolean;
  readonly holdMs: number;
}

/** Draws a schedule of faults, one at a time, filling `durationMs`. */
export function schedule(seed: number, durationMs: number, nodeCount: number): Fault[] {
  const random = new SeededRandom(seed);
  const kinds: Fault["kind"][] = ["kill", "pause", "isolate", "split"];
  const faults: Fault[] = [];
  let atMs = random.intBetween(300, 1000);
  for (let i = 0; i < 10_000; i++) {
    const holdMs = random.intBetween(500, 3000);
    if (atMs + holdMs > durationMs) break;
    const kind = kinds[random.intBelow(kinds.length)]!;
    const first = random.intBelow(nodeCount);
    const minoritySize = Math.floor((nodeCount - 1) / 2);
    const nodes = kind === "split"
      ? Array.from({ length: minoritySize }, (_, k) => (first + k) % nodeCount)
      : [first];
    faults.push({ atMs, kind, nodes, holdMs, onLeader: random.chance(0.5) });
    atMs += holdMs + random.intBetween(500, 2000);
  }
  return faults;
}

/** Human-readable schedule, one fault a line. */
export function describeSchedule(faults: Fault[]): string {
  return faults.map((f) =>
    `  t+${f.atMs} ms ${f.kind} ${
      f.onLeader
        ? `the leader${f.nodes.length > 1 ? ` and ${f.nodes.length - 1} more` : ""}`
        : names(f.nodes)
    } for ${f.holdMs} ms`
  ).join("\n");
}

/** What a run saw. */
export interface NemesisReport {
  readonly seed: number;
  readonly faults: Fault[];
  readonly counts: Record<string, number>;
  readonly finalLength: number;
  readonly problems: string[];
}

/** Options of {@linkcode runNemesis}. */
export interface NemesisOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly nodeCount: number;
  readonly clients: number;
  readonly log?: (line: string) => void;
}

/** Runs the clients and the nemesis; resolves with the checked report (throws on setup). */
export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  const log = options.log ?? console.log;
  const faults = schedule(options.seed, options.durationMs, options.nodeCount);
  log(`chaos: seed ${options.seed}, ${options.nodeCount} nodes, ${options.clients} clients`);
  log(`chaos: schedule (replay with --seed ${options.seed}):\n${describeSchedule(faults)}`);
  await using cluster = await ChaosCluster.start(await chaosNet(options.nodeCount));
  log(`chaos: partitions by ${cluster.lab.kind}`);
  const history = new History();
  const random = new SeededRandom(options.seed ^ 0x5eed);
  let stop = false;
  let highest = 0;
  const workers = Array.from({ length: options.clients }, async (_, client) => {
    for (let n = 0; !stop && n < 1_000_000; n++) {
      const node = cluster.nodes[random.intBelow(cluster.nodes.length)]!;
      if (random.chance(0.6)) {
        const offset = await history.append(node, `c${client}-${n}`, 3000);
        if (offset !== null) highest = Math.max(highest, offset);
      } else {
        await history.readOffset(node, random.intBelow(highest + 3), 2000);
      }
    }
  });
  const startMs = Date.now();
  try {
    for (const fault of faults) {
      const waitMs = startMs + fault.atMs - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const targets = await aim(cluster, fault);
      log(`chaos: t+${Date.now() - startMs} ms ${fault.kind} ${names(targets)}`);
      await apply(cluster, fault.kind, targets);
      await new Promise((resolve) => setTimeout(resolve, fault.holdMs));
      await heal(cluster, fault.kind, targets);
    }
    const restMs = startMs + options.durationMs - Date.now();
    if (restMs > 0) await new Promise((resolve) => setTimeout(resolve, restMs));
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  const finalLog = await settle(cluster, history);
  const problems = history.check(finalLog);
  return {
    seed: options.seed,
    faults,
    counts: history.counts(),
    finalLength: finalLog.length,
    problems,
  };
}

function names(indexes: number[]): string {
  return indexes.map((n) => `n${n + 1}`).join(",");
}

/** The nodes a fault hits now: its own, or shifted so the first is the leader of the moment. */
async function aim(cluster: ChaosCluster, fault: Fault): Promise<number[]> {
  if (!fault.onLeader) return fault.nodes;
  const count = cluster.nodes.length;
  for (const node of cluster.nodes) {
    if (!node.running) continue;
    const leader = await cluster.leaderSeenBy(node.index).catch(() => null);
    if (leader === null) continue;
    const shift = leader - fault.nodes[0]!;
    return fault.nodes.map((n) => (((n + shift) % count) + count) % count);
  }
  return fault.nodes; // no leader known: hit the drawn nodes
}

async function apply(cluster: ChaosCluster, kind: Fault["kind"], nodes: number[]): Promise<void> {
  const node = cluster.nodes[nodes[0]!]!;
  if (kind === "kill") await node.kill();
  else if (kind === "pause") node.pause();
  else if (kind === "isolate") await cluster.lab.isolate(node.index);
  else {
    const rest = cluster.nodes.map((n) => n.index).filter((i) => !nodes.includes(i));
    await cluster.lab.split([rest, nodes]);
  }
}

async function heal(cluster: ChaosCluster, kind: Fault["kind"], nodes: number[]): Promise<void> {
  const node = cluster.nodes[nodes[0]!]!;
  if (kind === "kill") await node.start();
  else if (kind === "pause") node.resume();
  else await cluster.lab.heal();
}

/**
 * Heals everything, commits a marker through the leader (which settles every entry before
 * it), and waits until every node holds the same log ending in the marker: that log.
 */
async function settle(cluster: ChaosCluster, history: History): Promise<string[]> {
  await cluster.lab.heal();
  for (const node of cluster.nodes) {
    node.resume();
    if (!node.running) await node.start();
  }
  const all = cluster.nodes.map((node) => node.index);
  const failure = (error: unknown) => {
    throw new Error(`${error}\n${cluster.outputs()}`);
  };
  const leader = await until("one leader after healing", () => cluster.agreedLeader(all), 30_000)
    .catch(failure);
  await until("the final marker to commit", async () => {
    return await history.append(cluster.nodes[leader]!, `final-${Date.now()}`, 5000);
  }, 30_000).catch(failure);
  const marker = [...history.acknowledged().keys()].find((v) => v.startsWith("final-"))!;
  return await until("every node to hold the same log", async () => {
    const logs = await Promise.all(cluster.nodes.map((node) => readAll(node)));
    const first = JSON.stringify(logs[0]);
    const same = logs.every((log) => JSON.stringify(log) === first);
    return same && logs[0]!.includes(marker) ? logs[0]! : null;
  }, 30_000).catch(failure);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "duration-s": { type: "string", default: "60" },
      seed: { type: "string" },
      nodes: { type: "string", default: "3" },
      clients: { type: "string", default: "4" },
    },
  });
  const seed = values.seed === undefined ? Date.now() % 1_000_000_007 : Number(values.seed);
  const report = await runNemesis({
    seed,
    durationMs: Number(values["duration-s"]) * 1000,
    nodeCount: Number(values.nodes),
    clients: Number(values.clients),
  });
  console.log(
    `chaos: operations ${JSON.stringify(report.counts)}; final log ${report.finalLength}`,
  );
  if (report.problems.length > 0) {
    console.error(`chaos: FAILED (seed ${seed}):\n${report.problems.join("\n")}`);
    Deno.exit(1);
  }
  console.log(`chaos: OK (seed ${seed})`);
}
