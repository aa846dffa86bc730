/**
 * One seeded run of production nodes with the agent's reconciliation in the loop: the leader
 * drives {@linkcode nextChange} (agent/_reconcile.ts, the code the agent runs) every 200 ms
 * against a gossip member list while members join, crash and restart, and some leave
 * gracefully. The gossip view is ideal (it reports a member's true state at once): what is
 * tested is what the leader does with it, not failure detection.
 *
 * Invariants: a removal targets only a member that left (a failed one is never removed); a
 * learner is promoted only when its log holds the leader's commit index; once faults stop,
 * the configuration converges to every member that did not leave, all voters, on every node.
 * @module
 */
import { nextChange, type ReconcileMember } from "../../../agent/_reconcile.ts";
import type { ConfigChange } from "../../../raft/mod.ts";
import { SeededRandom } from "../random.ts";
import { NodeCluster, type NodeSim } from "./_node_cluster.ts";
import { Scheduler } from "./_scheduler.ts";
import { worldFor } from "./node_run.ts";

/** The result of one reconciliation run. */
export interface ReconcileResult {
  readonly seed: number;
  readonly violations: string[];
  readonly changes: Record<ConfigChange["type"], number>;
  readonly left: string[];
  readonly events: number;
}

const reconcileEveryMs = 200;
const faultMs = 6000;
const recoveryMsMax = 20_000;
const eventsMax = 3_000_000;

/** Runs one seed; see the module doc. */
export async function runReconcileSeed(seed: number): Promise<ReconcileResult> {
  const random = new SeededRandom(seed);
  const ids = Array.from({ length: random.chance(0.5) ? 3 : 5 }, (_, i) => `n${i + 1}`);
  const scheduler = new Scheduler();
  // Nodes keep their logs in the file log on a simulated disk, without disk errors (this run
  // checks reconciliation; node_run.ts restarts nodes whose disk failed).
  const world = worldFor(random);
  const diskFaults = { ...world.diskFaults, writeErrorP: 0, syncErrorP: 0 };
  const cluster = new NodeCluster(scheduler, random.fork(), ids, { ...world, diskFaults }, {
    delayMsMin: 1,
    delayMsMax: [3, 10, 40][random.intBelow(3)] as number,
    corruptRate: 0,
    resetRate: 0,
  });
  // As the agent: the first node bootstraps alone, the others join with no configuration.
  cluster.bootstrapFor = (id) => ({ voters: id === "n1" ? ["n1"] : [], learners: [] });
  const run = new ReconcileWorld(cluster, random.fork());
  run.schedule(ids);
  let events = await scheduler.runUntilSettled(faultMs, eventsMax, () => cluster.observe());
  run.heal();
  const converged = await run.awaitConvergence();
  events += converged.events;
  const violations = [...cluster.checkers.violations, ...run.violations];
  if (converged.problem !== null) violations.push(converged.problem);
  for (const node of cluster.nodes.values()) cluster.crash(node);
  return { seed, violations, changes: run.changes, left: [...run.left], events };
}

class ReconcileWorld {
  readonly violations: string[] = [];
  readonly changes: Record<ConfigChange["type"], number> = {
    addLearner: 0,
    addVoter: 0,
    remove: 0,
  };
  readonly left = new Set<string>();
  readonly #cluster: NodeCluster;
  readonly #random: SeededRandom;
  /** The gossip member list: absent until a member joins. */
  readonly #gossip = new Map<string, ReconcileMember["status"]>();
  /** Leaders (one per incarnation, as in the agent) with a change in flight. */
  readonly #changing = new Set<object>();
  #healed = false;

  constructor(cluster: NodeCluster, random: SeededRandom) {
    this.#cluster = cluster;
    this.#random = random;
  }

  #node(id: string): NodeSim {
    return this.#cluster.nodes.get(id) as NodeSim;
  }

  #at(delayMs: number, run: () => void): void {
    this.#cluster.scheduler.after(delayMs, run);
  }

  schedule(ids: readonly string[]): void {
    this.#start("n1");
    for (const id of ids.slice(1)) {
      this.#at(this.#random.intBelow(faultMs / 2), () => this.#start(id));
    }
    // Failures: crash a member and restart it later (it must never be removed).
    for (let i = 0; i < 4; i++) {
      this.#at(this.#random.intBelow(faultMs), () => {
        const running = this.#cluster.running().filter((node) => !this.left.has(node.id));
        if (running.length === 0 || this.#healed) return;
        const victim = running[this.#random.intBelow(running.length)] as NodeSim;
        this.#cluster.crash(victim);
        this.#gossip.set(victim.id, "dead");
        this.#at(200 + this.#random.intBelow(1500), () => this.#start(victim.id));
      });
    }
    // A graceful leave of one member (at most a minority, so a quorum remains).
    if (ids.length >= 3 && this.#random.chance(0.7)) {
      const leaver = ids[this.#random.intBelow(ids.length)] as string;
      this.#at(faultMs / 2 + this.#random.intBelow(faultMs / 2), () => this.#leave(leaver));
    }
    this.#at(reconcileEveryMs, () => this.#reconcileLoop());
    this.#at(50, () => this.#trafficLoop());
  }

  #start(id: string): void {
    if (this.left.has(id)) return;
    this.#cluster.start(this.#node(id));
    this.#gossip.set(id, "alive");
  }

  /** Announces the leave; the process stops once the leader removed it (or it was down). */
  #leave(id: string): void {
    // Leaving is what a running member does on SIGTERM; a crashed one fails instead.
    if (this.#healed || this.#node(id).raft === null) return;
    // A sole voter that leaves takes the quorum with it (the agent does not promote a
    // successor first): not modelled here.
    const voters = this.#cluster.leader()?.raft?.status().membership.voters ?? [];
    if (voters.filter((voter) => voter !== id).length === 0) return;
    this.left.add(id);
    this.#gossip.set(id, "left");
  }

  heal(): void {
    this.#healed = true;
    for (const id of this.#cluster.nodes.keys()) this.#start(id);
  }

  #trafficLoop(): void {
    const leader = this.#cluster.leader();
    leader?.raft?.propose([new TextEncoder().encode("x")]).catch(() => {});
    this.#at(100, () => this.#trafficLoop());
  }

  #reconcileLoop(): void {
    this.#stopRemovedLeavers();
    for (const node of this.#cluster.running()) this.#reconcileOn(node);
    this.#at(reconcileEveryMs, () => this.#reconcileLoop());
  }

  /** A leaver exits once the leader's configuration no longer holds it. */
  #stopRemovedLeavers(): void {
    const leader = this.#cluster.leader();
    const membership = leader?.raft?.status().membership;
    if (membership === undefined) return;
    for (const id of this.left) {
      const node = this.#node(id);
      if (node.raft === null || leader?.id === id) continue;
      if (![...membership.voters, ...membership.learners].includes(id)) this.#cluster.crash(node);
    }
  }

  /** What the agent's tick does on a leader. */
  #reconcileOn(node: NodeSim): void {
    const raft = node.raft;
    const status = raft?.status();
    if (raft === null || raft === undefined || status?.role !== "leader") return;
    if (this.left.has(node.id)) {
      // A leaving leader hands over first (as Cluster.leave does).
      const successor = raft.followers().filter((f) => status.membership.voters.includes(f.id))
        .sort((a, b) => b.match - a.match)[0];
      if (successor !== undefined) {
        try {
          raft.transferLeadership(successor.id);
        } catch {
          // retried next round
        }
      }
      return;
    }
    if (this.#changing.has(raft)) return;
    const change = nextChange({
      self: node.id,
      members: [...this.#gossip].map(([name, state]) => ({ name, status: state, hasRaft: true })),
      membership: status.membership,
      followers: raft.followers(),
      commitIndex: status.commitIndex,
    });
    if (change === null) return;
    this.#check(change, status.commitIndex);
    this.changes[change.type]++;
    this.#changing.add(raft);
    raft.changeMembership(change).catch(() => {}).finally(() => this.#changing.delete(raft));
  }

  #check(change: ConfigChange, commitIndex: number): void {
    const now = this.#cluster.scheduler.nowMs;
    if (change.type === "remove" && this.#gossip.get(change.id) !== "left") {
      this.violations.push(
        `t=${now}ms: removal of ${change.id}, which did not leave (${this.#gossip.get(change.id)})`,
      );
    }
    if (change.type === "addVoter") {
      const store = this.#node(change.id).store;
      const last = store?.lastIndex() ?? 0;
      if (last < commitIndex) {
        this.violations.push(
          `t=${now}ms: ${change.id} promoted while it holds ${last} < commit index ${commitIndex}`,
        );
      }
    }
  }

  /** After faults: every member that did not leave is a voter, on every running node. */
  async awaitConvergence(): Promise<{ events: number; problem: string | null }> {
    const expected = [...this.#cluster.nodes.keys()].filter((id) => !this.left.has(id)).sort();
    const scheduler = this.#cluster.scheduler;
    const deadline = scheduler.nowMs + recoveryMsMax;
    let events = 0;
    while (scheduler.nowMs < deadline) {
      events += await scheduler.runUntilSettled(
        scheduler.nowMs + 100,
        eventsMax,
        () => this.#cluster.observe(),
      );
      if (this.#converged(expected)) return { events, problem: null };
    }
    const views = this.#cluster.running().map((node) => {
      const status = node.raft!.status();
      return `${node.id}:${status.role}@${status.term} voters=${
        status.membership.voters.join("+")
      } learners=${status.membership.learners.join("+")} commit=${status.commitIndex}`;
    });
    return {
      events,
      problem: `convergence: configuration not ${
        expected.join("+")
      } (all voters) within ${recoveryMsMax}ms after faults stopped (left: ${
        [...this.left].join("+") || "none"
      }; ${views.join(", ")})`,
    };
  }

  #converged(expected: readonly string[]): boolean {
    const leader = this.#cluster.leader();
    if (leader === null) return false;
    const running = this.#cluster.running().filter((node) => !this.left.has(node.id));
    if (running.length !== expected.length) return false;
    const commit = leader.raft!.status().commitIndex;
    return running.every((node) => {
      const status = node.raft!.status();
      return JSON.stringify([...status.membership.voters].sort()) === JSON.stringify(expected) &&
        status.membership.learners.length === 0 && status.commitIndex >= commit;
    });
  }
}
