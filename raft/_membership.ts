/**
 * Membership bookkeeping. A configuration takes effect as soon as its entry is in the log
 * (committed or not, as in the Raft thesis, single-server changes), so the core keeps the
 * list of recent configuration entries: the latest one at or below the commit index, and any
 * later ones. Truncating the log rolls them back.
 * @module
 */

import type { ConfigChange, Membership, NodeId } from "./_messages.ts";

/** A configuration and the entry (index, term) that introduced it; index 0 is bootstrap. */
export interface ConfigRecord {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

/** Raised when a request cannot be served by this node in its current role or state. */
export class RaftError extends Error {
  /** Why: not the leader, a change is already pending, a transfer is running, … */
  readonly code: RaftErrorCode;
  /** The leader this node believes in, if any (for redirects). */
  readonly leaderHint: NodeId | null;
  /** `options.cause`: the error underneath (a storage failure's own error). */
  constructor(
    code: RaftErrorCode,
    message: string,
    leaderHint: NodeId | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "RaftError";
    this.code = code;
    this.leaderHint = leaderHint;
  }
}

/** Codes of {@linkcode RaftError}. */
export type RaftErrorCode =
  | "NOT_LEADER"
  | "NO_LEADER"
  | "CHANGE_PENDING"
  | "TRANSFER_IN_PROGRESS"
  | "INVALID_CHANGE"
  | "OVERLOADED"
  /** Too large for one peer frame: split the batch. */
  | "TOO_LARGE"
  /**
   * The request was appended but not seen committed (timeout, node stopped): it may still
   * commit. Retrying blindly can duplicate it.
   */
  | "UNKNOWN_OUTCOME"
  /**
   * This node's storage failed and it stopped taking part (fail-stop): nothing was appended
   * here. Another node can serve; this one needs its disk fixed and a restart.
   */
  | "STORAGE_FAILED";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a membership as the `data` of a Config entry. */
export function encodeMembership(membership: Membership): Uint8Array {
  return encoder.encode(JSON.stringify({ v: membership.voters, l: membership.learners }));
}

/** Decodes the `data` of a Config entry. */
export function decodeMembership(data: Uint8Array): Membership {
  const raw = JSON.parse(decoder.decode(data)) as { v: NodeId[]; l: NodeId[] };
  return { voters: raw.v, learners: raw.l };
}

/** Applies one change to a membership, or explains why it is not allowed. */
export function applyChange(current: Membership, change: ConfigChange): Membership {
  const voters = current.voters.filter((id) => id !== change.id);
  const learners = current.learners.filter((id) => id !== change.id);
  const known = voters.length !== current.voters.length ||
    learners.length !== current.learners.length;
  if (change.type === "addVoter") voters.push(change.id);
  else if (change.type === "addLearner") {
    if (current.voters.includes(change.id)) {
      throw new RaftError("INVALID_CHANGE", `Cannot demote voter ${change.id} to learner`);
    }
    learners.push(change.id);
  } else if (!known) {
    throw new RaftError("INVALID_CHANGE", `Cannot remove ${change.id}: not a member`);
  }
  if (voters.length === 0) {
    throw new RaftError("INVALID_CHANGE", `Cannot remove ${change.id}: the last voter`);
  }
  return { voters: voters.sort(), learners: learners.sort() };
}

/** The size of a majority of `voterCount` voters. */
export function quorumOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters hold, given each voter's match index. With
 * an even count the lower middle wins, which is exactly a majority.
 */
export function quorumIndex(matches: number[]): number {
  const sorted = matches.slice().sort((a, b) => b - a);
  return sorted[quorumOf(matches.length) - 1] ?? 0;
}
