/**
 * Invariants of a simulated run, stated in code. Each checker returns readable violations
 * (empty when the invariant holds); the scenario runner prints them with the seed.
 */

import type { MemberState } from "../../../discovery/mod.ts";
import type { SimCluster, SimNode } from "./cluster.ts";

const violationsMax = 5;

/** The process that held `member`'s address at `atMs` (the latest one started by then). */
function instanceOf(cluster: SimCluster, member: MemberState, atMs: number): SimNode | undefined {
  let found: SimNode | undefined;
  for (const node of cluster.history) {
    if (node.address === member.address && node.startedAtMs <= atMs) found = node;
  }
  return found;
}

/**
 * Every crashed member is declared failed by every member running from its crash until
 * `crash + boundMs`, within that bound (an observer that already held it failed counts).
 */
export function checkDetection(cluster: SimCluster, boundMs: number): string[] {
  const violations: string[] = [];
  for (const crashed of cluster.history) {
    if (crashed.crashedAtMs === null || crashed.leftAtMs !== null) continue;
    const deadlineMs = crashed.crashedAtMs + boundMs;
    for (const observer of cluster.history) {
      if (observer === crashed || !runningThrough(observer, deadlineMs)) continue;
      if (observer.startedAtMs > crashed.crashedAtMs) continue;
      const detectedAtMs = failedAtMs(cluster, observer, crashed, crashed.crashedAtMs);
      if (detectedAtMs === null || detectedAtMs > deadlineMs) {
        violations.push(
          `${observer.name} did not declare crashed ${crashed.name} failed within ${boundMs} ms ` +
            `(crash at ${crashed.crashedAtMs} ms, detected at ${detectedAtMs ?? "never"})`,
        );
        if (violations.length >= violationsMax) return violations;
      }
    }
  }
  return violations;
}

function runningThrough(node: SimNode, untilMs: number): boolean {
  return (node.crashedAtMs === null || node.crashedAtMs > untilMs) &&
    (node.leftAtMs === null || node.leftAtMs > untilMs);
}

/** When `observer` held `member` failed at or after `sinceMs` (null: never). */
export function failedAtMs(
  cluster: SimCluster,
  observer: SimNode,
  member: SimNode,
  sinceMs: number,
): number | null {
  let failed = false;
  for (const { observer: who, event, atMs } of cluster.events) {
    if (who !== observer || event.member.address !== member.address) continue;
    if (atMs >= sinceMs) {
      if (failed) return sinceMs;
      if (event.type === "fail") return atMs;
      continue;
    }
    if (event.type === "fail") failed = true;
    else if (event.type === "join") failed = false;
  }
  return failed ? sinceMs : null;
}

/** No member is declared failed while it runs (no false positive). */
export function checkNoFalseFailures(cluster: SimCluster): string[] {
  const violations: string[] = [];
  for (const { observer, event, atMs } of cluster.events) {
    if (event.type !== "fail") continue;
    const member = instanceOf(cluster, event.member, atMs);
    if (member === undefined) continue;
    const crashed = member.crashedAtMs !== null && member.crashedAtMs <= atMs;
    if (!crashed) {
      violations.push(`${observer.name} declared running ${member.name} failed at ${atMs} ms`);
      if (violations.length >= violationsMax) break;
    }
  }
  return violations;
}

/** A member that left gracefully is never reported failed after it started leaving. */
export function checkLeftNeverFailed(cluster: SimCluster): string[] {
  const violations: string[] = [];
  for (const { observer, event, atMs } of cluster.events) {
    if (event.type !== "fail") continue;
    const member = instanceOf(cluster, event.member, atMs);
    if (member?.leftAtMs === null || member === undefined) continue;
    if (atMs >= member.leftAtMs) {
      violations.push(`${observer.name} reported ${member.name} failed after it left`);
      if (violations.length >= violationsMax) break;
    }
  }
  return violations;
}

/**
 * Views agree: every running node sees every other running node alive at its current
 * address, every crashed one failed (or reaped) and every left one left (or reaped).
 */
export function viewMismatches(cluster: SimCluster): string[] {
  const mismatches: string[] = [];
  const running = cluster.running();
  for (const observer of running) {
    const view = new Map(observer.core.members().map((member) => [member.name, member]));
    for (const node of cluster.nodes.values()) {
      if (node === observer) continue;
      const seen = view.get(node.name);
      const problem = mismatch(node, seen);
      if (problem === null) continue;
      mismatches.push(`${observer.name} sees ${node.name} ${problem}`);
      if (mismatches.length >= violationsMax) return mismatches;
    }
  }
  return mismatches;
}

function mismatch(node: SimNode, seen: MemberState | undefined): string | null {
  if (node.crashedAtMs !== null) {
    if (seen === undefined || seen.address !== node.address) return null;
    return seen.status === "dead" ? null : `${seen.status}, but it crashed`;
  }
  if (node.leftAtMs !== null) {
    if (seen === undefined || seen.address !== node.address) return null;
    return seen.status === "left" ? null : `${seen.status}, but it left`;
  }
  if (seen === undefined) return "missing, but it runs";
  if (seen.address !== node.address) return `at ${seen.address}, but it runs at ${node.address}`;
  return seen.status === "alive" ? null : `${seen.status}, but it runs`;
}

/**
 * The probability that one probe fails although its target runs, at packet loss `loss`
 * with `helpers` indirect probers: the direct ping or its ack is lost, and each indirect
 * path (ping-req, ping, ack, forwarded ack: four packets) loses one too.
 */
export function probeFailureProbability(loss: number, helpers: number): number {
  const direct = 1 - (1 - loss) ** 2;
  const indirect = 1 - (1 - loss) ** 4;
  return direct * indirect ** helpers;
}

/**
 * Bounds on false-suspicion traffic of running members over `rounds` probe rounds, with
 * `p` = {@linkcode probeFailureProbability}: refutations per member per round at most 2p
 * (each false suspicion of a member makes it refute once), suspicions started or adopted
 * per member per round at most n·p (each false suspicion is adopted by at most n members).
 */
export function checkSuspicionRates(
  cluster: SimCluster,
  rounds: number,
  failureProbability: number,
): { violations: string[]; note: string } {
  const running = cluster.running();
  const size = running.length;
  let refutations = 0;
  let suspicions = 0;
  for (const node of running) {
    refutations += node.core.stats.refutations;
    suspicions += node.core.stats.suspicionsStarted;
  }
  const refutationRate = refutations / size / rounds;
  const suspicionRate = suspicions / size / rounds;
  const refutationBound = 2 * failureProbability;
  const suspicionBound = size * failureProbability;
  const violations: string[] = [];
  if (refutationRate > refutationBound) {
    violations.push(
      `refutations per member per round ${refutationRate.toFixed(4)} > bound ${
        refutationBound.toFixed(4)
      }`,
    );
  }
  if (suspicionRate > suspicionBound) {
    violations.push(
      `suspicions per member per round ${suspicionRate.toFixed(4)} > bound ${
        suspicionBound.toFixed(4)
      }`,
    );
  }
  const note = `refutations/member/round=${refutationRate.toFixed(4)} (≤${
    refutationBound.toFixed(4)
  }) suspicions/member/round=${suspicionRate.toFixed(4)} (≤${suspicionBound.toFixed(4)})`;
  return { violations, note };
}

/**
 * No member in `departed` (left or crashed, then reaped) is reported joining after
 * `sinceMs`, and no running member sees one of them alive.
 */
export function checkNoResurrection(
  cluster: SimCluster,
  departed: ReadonlySet<string>,
  sinceMs: number,
): string[] {
  const violations: string[] = [];
  for (const { observer, event, atMs } of cluster.events) {
    if (atMs < sinceMs || event.type !== "join" || !departed.has(event.member.name)) continue;
    violations.push(`${observer.name} saw departed ${event.member.name} join at ${atMs} ms`);
    if (violations.length >= violationsMax) return violations;
  }
  for (const observer of cluster.running()) {
    for (const member of observer.core.members()) {
      if (!departed.has(member.name) || member.status !== "alive") continue;
      violations.push(`${observer.name} sees departed ${member.name} alive`);
      if (violations.length >= violationsMax) return violations;
    }
  }
  return violations;
}
