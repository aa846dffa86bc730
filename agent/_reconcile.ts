/**
 * The leader's reconciliation of the gossip member list into the Raft configuration, as a
 * pure function (no IO, no clock): the agent and the Raft simulator drive the same code.
 *
 * One change at a time, in this order: remove a configured member that left gracefully; add
 * a live member that is not configured as a learner; promote a learner to voter once it holds
 * everything committed. A member that failed (suspect, dead) is never removed: it may come
 * back, and removing it would shrink the quorum behind the operator's back.
 * @module
 */
import type { ConfigChange, Membership, NodeId } from "../raft/mod.ts";

/** A gossip member as reconciliation sees it. */
export interface ReconcileMember {
  readonly name: string;
  readonly status: "alive" | "suspect" | "dead" | "left";
  /** Whether it announced a Raft address (a member without one cannot replicate). */
  readonly hasRaft: boolean;
}

/** What the leader knows when it reconciles. */
export interface ReconcileView {
  /** This node (the leader): never removed by reconciliation. */
  readonly self: NodeId;
  readonly members: readonly ReconcileMember[];
  /** The latest configuration (committed or not). */
  readonly membership: Membership;
  /** The leader's view of each follower's log. */
  readonly followers: readonly { readonly id: NodeId; readonly match: number }[];
  readonly commitIndex: number;
}

/** The one change that brings the configuration closer to the member list, or null. */
export function nextChange(view: ReconcileView): ConfigChange | null {
  const members = new Map(view.members.map((member) => [member.name, member]));
  const configured = new Set([...view.membership.voters, ...view.membership.learners]);
  for (const id of configured) {
    if (id !== view.self && members.get(id)?.status === "left") return { type: "remove", id };
  }
  for (const member of members.values()) {
    if (member.status !== "alive" || configured.has(member.name) || !member.hasRaft) continue;
    return { type: "addLearner", id: member.name };
  }
  const learner = caughtUpLearner(view);
  return learner === null ? null : { type: "addVoter", id: learner };
}

/**
 * The first learner that gossip reports alive and that holds everything committed (its match
 * index reaches the commit index), or null: the one that may become a voter.
 */
export function caughtUpLearner(
  view: Pick<ReconcileView, "members" | "membership" | "followers" | "commitIndex">,
): NodeId | null {
  for (const id of view.membership.learners) {
    const match = view.followers.find((follower) => follower.id === id)?.match ?? 0;
    const alive = view.members.some((member) => member.name === id && member.status === "alive");
    if (match >= view.commitIndex && alive) return id;
  }
  return null;
}
