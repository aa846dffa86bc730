/**
 * The values the Raft core exchanges with its peers and hands to its driver. Plain data, no
 * classes, so the codec, the simulator and the TCP transport can all carry them.
 * @module
 */

import type { Entry } from "../log/mod.ts";

/** A node's identity in the cluster (stable across restarts). */
export type NodeId = string;

/** The kinds of peer messages; stored as one byte on the wire, values never change meaning. */
export const MessageType = {
  PreVote: 1,
  PreVoteResponse: 2,
  Vote: 3,
  VoteResponse: 4,
  Append: 5,
  AppendResponse: 6,
  Heartbeat: 7,
  HeartbeatResponse: 8,
  InstallSnapshot: 9,
  TimeoutNow: 10,
  ReadIndex: 11,
  ReadIndexResponse: 12,
} as const;
/** One of the values of {@linkcode MessageType}. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term (for PreVote: the term it would campaign in). */
  readonly term: number;
}

/** A (pre-)candidate asks for a vote; `transfer` bypasses the leader lease (TimeoutNow). */
export interface VoteRequest extends Envelope {
  readonly type: typeof MessageType.PreVote | typeof MessageType.Vote;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly transfer: boolean;
}

/** The answer to a {@linkcode VoteRequest}. */
export interface VoteResponse extends Envelope {
  readonly type: typeof MessageType.PreVoteResponse | typeof MessageType.VoteResponse;
  readonly granted: boolean;
}

/** AppendEntries: entries following (prevIndex, prevTerm), and the leader's commit index. */
export interface AppendRequest extends Envelope {
  readonly type: typeof MessageType.Append;
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * The answer to an {@linkcode AppendRequest} or an {@linkcode InstallSnapshot}. On success,
 * `index` is the last index known to match the leader. On rejection, `index` is the rejected
 * prevIndex and the hints say where the follower's log diverges: `conflictTerm` is the term
 * the follower has at prevIndex (0 if it has no entry there) and `conflictIndex` the first
 * index of that term (or the follower's lastIndex + 1).
 */
export interface AppendResponse extends Envelope {
  readonly type: typeof MessageType.AppendResponse;
  readonly success: boolean;
  readonly index: number;
  readonly conflictTerm: number;
  readonly conflictIndex: number;
}

/** Leader liveness + commit propagation; `readSeq` confirms leadership for ReadIndex. */
export interface Heartbeat extends Envelope {
  readonly type: typeof MessageType.Heartbeat;
  readonly commit: number;
  readonly readSeq: number;
}

/** The answer to a {@linkcode Heartbeat}, echoing its `readSeq`. */
export interface HeartbeatResponse extends Envelope {
  readonly type: typeof MessageType.HeartbeatResponse;
  readonly readSeq: number;
}

/**
 * The leader no longer has the follower's next entry (retention deleted it): the follower
 * restarts its log after `index` (whose term is `snapshotTerm`) with records continuing at
 * `nextOffset`, under membership `config`. Strand's state *is* the log, so no data travels.
 */
export interface InstallSnapshot extends Envelope {
  readonly type: typeof MessageType.InstallSnapshot;
  readonly index: number;
  readonly snapshotTerm: number;
  readonly nextOffset: number;
  readonly config: Membership;
  readonly configIndex: number;
}

/** Leadership transfer: the target campaigns at once, bypassing pre-vote and the lease. */
export interface TimeoutNow extends Envelope {
  readonly type: typeof MessageType.TimeoutNow;
}

/** A follower forwards a linearizable read to the leader. */
export interface ReadIndexRequest extends Envelope {
  readonly type: typeof MessageType.ReadIndex;
  readonly readId: string;
}

/** The leader's answer: the read may be served once `index` is applied. */
export interface ReadIndexResponse extends Envelope {
  readonly type: typeof MessageType.ReadIndexResponse;
  readonly readId: string;
  readonly index: number;
}

/** Any peer message. */
export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

/** Cluster membership: voters decide; learners only receive the log. */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** A membership change, one server at a time. */
export type ConfigChange =
  | { readonly type: "addVoter"; readonly id: NodeId }
  | { readonly type: "addLearner"; readonly id: NodeId }
  | { readonly type: "remove"; readonly id: NodeId };
