/**
 * Options and outputs of the Raft core.
 * @module
 */

import type { Entry, EntryStore } from "../log/mod.ts";
import type { ConfigRecord } from "./_membership.ts";
import type { Membership, Message, NodeId } from "./_messages.ts";
import type { PersistWork } from "./_raft_log.ts";

/** The randomness the core needs: the driver passes a seeded generator in tests. */
export interface RaftRandom {
  /** An integer in [0, maxExclusive). */
  intBelow(maxExclusive: number): number;
}

/** What must survive a restart besides the log: term, vote and recent configurations. */
export interface PersistentState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly configs: readonly ConfigRecord[];
  /**
   * An InstallSnapshot restart this state belongs to. The driver saves the state *before*
   * restarting the log; if the node crashes in between, the next start finds the log not yet
   * restarted and redoes the restart, so configuration, term and log never disagree.
   */
  readonly restart?: RestartPoint;
}

/** Where an InstallSnapshot restarts the log. */
export interface RestartPoint {
  readonly index: number;
  readonly term: number;
  readonly nextOffset: number;
}

/** The saved restart the store has not carried out yet (a crash came in between), if any. */
export function pendingRestart(
  state: PersistentState | null,
  store: EntryStore,
): RestartPoint | null {
  const restart = state?.restart;
  // A restart leaves firstIndex at index + 1 and retention only raises it: a lower one
  // means the store never got to it.
  return restart !== undefined && store.firstIndex() - 1 < restart.index ? restart : null;
}

/** Configuration of one Raft core. Every field but the first four has a safe default. */
export interface RaftOptions {
  /** This node's identity. */
  readonly id: NodeId;
  /** The commit log (its reads are synchronous; the core never writes to it itself). */
  readonly store: EntryStore;
  /** Randomized election timeouts come from here. */
  readonly random: RaftRandom;
  /** What was saved last time ({@linkcode decodePersistentState}), or null on first start. */
  readonly persisted: PersistentState | null;
  /** Membership of a brand-new cluster (used only when `persisted` is null). */
  readonly bootstrap?: Membership;
  /** Ticks without a leader before a follower campaigns; randomized in [n, 2n). Default 10. */
  readonly electionTimeoutTicks?: number;
  /** Ticks between leader heartbeats. Default 1. */
  readonly heartbeatTicks?: number;
  /** Pre-vote: a node that was partitioned away cannot disrupt the cluster. Default true. */
  readonly preVote?: boolean;
  /** A leader that has not heard from a quorum for an election timeout steps down. Default true. */
  readonly checkQuorum?: boolean;
  /** Payload bytes per AppendEntries message (at least one entry is always sent). Default 1 MiB. */
  readonly appendBytesMax?: number;
  /** AppendEntries messages in flight per follower. Default 64. */
  readonly inflightMessagesMax?: number;
  /** Payload bytes in flight per follower. Default 8 MiB. */
  readonly inflightBytesMax?: number;
  /** Payload bytes of committed entries handed out per Ready. Default 4 MiB. */
  readonly applyBytesMax?: number;
  /** Uncommitted entries a leader accepts before refusing proposals. Default 4096. */
  readonly uncommittedEntriesMax?: number;
}

/** A confirmed linearizable read: serve it once the applied index reaches `index`. */
export interface ReadState {
  readonly readId: string;
  readonly index: number;
}

/**
 * Work for the driver, to be done in this order: if `persist.restart` is set, save `state`
 * (it carries the restart point) and then restart the log; otherwise `persist.truncateFrom`,
 * then save `state` (if not null); then append `persist.entries`; only then send `messages`,
 * apply `committed` and serve `readStates`; finally call `advance(ready)`. Messages the core
 * hands out earlier ({@linkcode RaftCore.takeEarlyMessages}) need no persistence first.
 */
export interface Ready {
  readonly state: PersistentState | null;
  readonly persist: PersistWork;
  readonly messages: readonly Message[];
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/** Where a proposal landed in the log. Acknowledge it once `index` is applied with `term`. */
export interface Proposal {
  readonly index: number;
  readonly term: number;
  readonly baseOffset: number;
}

/** The role of a node. */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** A snapshot of the core's volatile state, for drivers, metrics and checkers. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly membership: Membership;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes the persistent state for a MetaStore (JSON: small, rare, human-inspectable). */
export function encodePersistentState(state: PersistentState): Uint8Array {
  return encoder.encode(JSON.stringify(state));
}

/** Decodes what {@linkcode encodePersistentState} produced. */
export function decodePersistentState(bytes: Uint8Array): PersistentState {
  const raw = JSON.parse(decoder.decode(bytes)) as PersistentState;
  if (typeof raw.term !== "number" || !Array.isArray(raw.configs) || raw.configs.length === 0) {
    throw new Error("Cannot decode the Raft state: term or configurations missing");
  }
  return raw;
}

/** The defaults, resolved. */
export interface Limits {
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly appendBytesMax: number;
  readonly inflightMessagesMax: number;
  readonly inflightBytesMax: number;
  readonly applyBytesMax: number;
  readonly uncommittedEntriesMax: number;
}

/** Fills in defaults and checks ranges (programmer errors throw). */
export function resolveLimits(options: RaftOptions): Limits {
  const limits: Limits = {
    electionTimeoutTicks: options.electionTimeoutTicks ?? 10,
    heartbeatTicks: options.heartbeatTicks ?? 1,
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    appendBytesMax: options.appendBytesMax ?? 1 << 20,
    inflightMessagesMax: options.inflightMessagesMax ?? 64,
    inflightBytesMax: options.inflightBytesMax ?? 8 << 20,
    applyBytesMax: options.applyBytesMax ?? 4 << 20,
    uncommittedEntriesMax: options.uncommittedEntriesMax ?? 4096,
  };
  if (limits.heartbeatTicks < 1 || limits.electionTimeoutTicks <= limits.heartbeatTicks) {
    throw new RangeError(
      `Cannot configure Raft: electionTimeoutTicks (${limits.electionTimeoutTicks}) must exceed heartbeatTicks (${limits.heartbeatTicks}) >= 1`,
    );
  }
  return limits;
}
