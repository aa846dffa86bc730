/**
 * The Raft core: a pure state machine in the style of etcd's raft. It does no IO and reads
 * no clock: time arrives as `tick()`, peers' messages as `step()`, client requests as
 * `propose()` / `readIndex()`; everything it wants done comes back as a {@linkcode Ready}.
 * Leader-side replication lives in `_leader.ts`; this file holds roles, elections and the
 * follower side.
 * @module
 */

import { type Entry, EntryKind, type EntryStore } from "../log/mod.ts";
import { type ConfigRecord, decodeMembership, quorumOf, RaftError } from "./_membership.ts";
import {
  type AppendRequest,
  type InstallSnapshot,
  type Membership,
  type Message,
  MessageType,
  type NodeId,
  type VoteRequest,
  type VoteResponse,
} from "./_messages.ts";
import {
  type Limits,
  pendingRestart,
  type PersistentState,
  type RaftOptions,
  type RaftRandom,
  type RaftStatus,
  type ReadState,
  type Ready,
  resolveLimits,
  type Role,
} from "./_options.ts";
import { RaftLog } from "./_raft_log.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/** Distributive Omit, so envelope fields can be left to `send()` for any message type. */
export type Unaddressed<M> = M extends Message ? Omit<M, "from" | "term"> & { term?: number }
  : never;

/** Shared state and the follower/candidate half of the protocol. */
export class CoreBase {
  /** This node's identity. */
  readonly id: NodeId;
  protected readonly limits: Limits;
  protected readonly random: RaftRandom;
  protected readonly log: RaftLog;
  protected term = 0;
  protected vote: NodeId | null = null;
  protected role: Role = "follower";
  protected leader: NodeId | null = null;
  protected configs: ConfigRecord[];
  protected electionElapsed = 0;
  protected heartbeatElapsed = 0;
  protected randomizedTimeoutTicks = 0;
  /** Whether the current campaign was ordered by a leadership transfer (it bypasses leases). */
  protected campaignTransfer = false;
  protected readonly votes = new Map<NodeId, boolean>();
  protected messages: Message[] = [];
  protected readStates: ReadState[] = [];
  protected stateDirty = false;
  /** The term of the last state known saved: messages in it may leave before a Ready is. */
  protected durableTerm = -1;
  /** Elections this node started (real campaigns, not pre-votes), for metrics. */
  protected electionsStarted = 0;

  constructor(options: RaftOptions) {
    this.id = options.id;
    this.limits = resolveLimits(options);
    this.random = options.random;
    this.log = new RaftLog(options.store);
    const persisted = options.persisted;
    if (persisted === null) {
      if (options.bootstrap === undefined) {
        throw new Error(
          `Cannot start node ${options.id}: no saved state and no bootstrap membership`,
        );
      }
      this.configs = [{ index: 0, term: 0, membership: options.bootstrap }];
      this.stateDirty = true;
    } else {
      this.term = persisted.term;
      this.vote = persisted.vote;
      this.durableTerm = persisted.term;
      const restart = pendingRestart(persisted, options.store);
      if (restart === null) {
        this.configs = reconcileConfigs(persisted.configs, options.store);
      } else {
        // Crashed between saving the snapshot's state and restarting the log: finish the
        // restart (first thing the next Ready persists) under the snapshot's configuration.
        this.log.restart(restart.index, restart.term, restart.nextOffset);
        this.configs = persisted.configs.filter((c, i) => i === 0 || c.index <= restart.index);
        this.stateDirty = true;
      }
    }
    this.resetElectionTimer();
  }

  // ---- queries -------------------------------------------------------------------------

  /** The current membership (the latest configuration in the log). */
  membership(): Membership {
    return (this.configs[this.configs.length - 1] as ConfigRecord).membership;
  }

  /** Volatile state, for drivers and checkers. */
  status(): RaftStatus {
    return {
      id: this.id,
      term: this.term,
      role: this.role,
      leader: this.leader,
      commitIndex: this.log.committed,
      lastIndex: this.log.lastIndex(),
      membership: this.membership(),
    };
  }

  /** First index in this node's log view. */
  firstIndex(): number {
    return this.log.firstIndex();
  }

  /** Last index in this node's log view (including entries not yet durable). */
  lastIndex(): number {
    return this.log.lastIndex();
  }

  /** Term at `index`, or null if the log does not have it. */
  termAt(index: number): number | null {
    return this.log.termOrNull(index);
  }

  /** Entries of this node's log view in [fromIndex, toIndex). */
  entries(fromIndex: number, toIndex: number, bytesMax = Infinity): Entry[] {
    return this.log.entries(fromIndex, toIndex, bytesMax);
  }

  protected isVoter(id: NodeId = this.id): boolean {
    return this.membership().voters.includes(id);
  }

  /**
   * Whether this node may start an election: it is a voter in its latest configuration, or
   * it was removed by a change not yet committed (Raft dissertation §4.2.2: the change may
   * still be lost, and this node may hold the only copy of entries the cluster needs —
   * without it the remaining voters can wait forever for a vote it will not give them).
   */
  protected mayCampaign(): boolean {
    return this.isVoter() || this.committedConfig().membership.voters.includes(this.id);
  }

  protected persistentState(): PersistentState {
    return { term: this.term, vote: this.vote, configs: this.configs.slice() };
  }

  protected send(message: Unaddressed<Message>): void {
    this.messages.push({ ...message, from: this.id, term: message.term ?? this.term } as Message);
  }

  protected notLeader(action: string): RaftError {
    const code = this.leader === null ? "NO_LEADER" : "NOT_LEADER";
    const where = this.leader === null ? "no leader is known" : `the leader is ${this.leader}`;
    return new RaftError(code, `Cannot ${action} on ${this.id}: ${where}`, this.leader);
  }

  // ---- roles ---------------------------------------------------------------------------

  protected resetElectionTimer(): void {
    this.electionElapsed = 0;
    const base = this.limits.electionTimeoutTicks;
    this.randomizedTimeoutTicks = base + this.random.intBelow(base);
  }

  /**
   * Steps down. `resetTimer` is false when a vote request with a higher term caused it: as in
   * the Raft paper, only a leader's message, a granted vote or an own campaign restart the
   * timer. Otherwise a candidate that cannot win (stale log) would keep postponing, forever,
   * the election of the node that can.
   */
  protected becomeFollower(term: number, leader: NodeId | null, resetTimer = true): void {
    if (term > this.term) {
      this.term = term;
      this.vote = null;
      this.stateDirty = true;
    }
    this.role = "follower";
    this.leader = leader;
    this.votes.clear();
    if (resetTimer) this.resetElectionTimer();
    this.onLeadershipLost();
  }

  /** Hook for the leader half to drop its volatile state. */
  protected onLeadershipLost(): void {}

  /** Hook for the leader half to start a term. */
  protected becomeLeader(): void {}

  protected campaign(kind: "pre" | "real", transfer: boolean): void {
    if (kind === "pre") {
      this.role = "preCandidate";
    } else {
      this.term += 1;
      this.vote = this.id;
      this.stateDirty = true;
      this.role = "candidate";
      this.electionsStarted++;
    }
    this.leader = null;
    this.votes.clear();
    this.resetElectionTimer();
    this.onLeadershipLost();
    this.votes.set(this.id, true);
    this.campaignTransfer = transfer;
    if (this.tallyVotes()) return;
    this.requestVotes();
  }

  /**
   * Asks every voter that has not answered yet. Called when a campaign starts and again
   * every heartbeat interval while it lasts: requests are idempotent (a voter grants the same
   * candidate again and changes nothing else), and a request that was lost, delayed, or
   * ignored by a voter still inside its leader lease would otherwise cost a whole randomized
   * election timeout — the largest share of the time to replace a failed leader.
   */
  protected requestVotes(): void {
    const pre = this.role === "preCandidate";
    for (const voter of this.membership().voters) {
      if (voter === this.id || this.votes.has(voter)) continue;
      this.send({
        type: pre ? MessageType.PreVote : MessageType.Vote,
        to: voter,
        term: pre ? this.term + 1 : this.term,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        transfer: this.campaignTransfer,
      });
    }
  }

  /** Counts votes; moves on when decided. Returns true if the election is over. */
  protected tallyVotes(): boolean {
    const voters = this.membership().voters;
    let granted = 0;
    let rejected = 0;
    for (const voter of voters) {
      const vote = this.votes.get(voter);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    const quorum = quorumOf(voters.length);
    if (granted >= quorum) {
      if (this.role === "preCandidate") this.campaign("real", false);
      else this.becomeLeader();
      return true;
    }
    if (rejected >= quorum) {
      this.becomeFollower(this.term, null);
      return true;
    }
    return false;
  }

  // ---- message handling shared by all roles ---------------------------------------------

  /**
   * Applies the term rules of Raft §5.1 plus pre-vote and the leader lease. Returns false
   * when the message must be dropped.
   */
  protected checkTerm(m: Message): boolean {
    if (m.term > this.term) return this.onHigherTerm(m);
    if (m.term < this.term) {
      this.onLowerTerm(m);
      return false;
    }
    return true;
  }

  private onHigherTerm(m: Message): boolean {
    const isVoteRequest = m.type === MessageType.PreVote || m.type === MessageType.Vote;
    if (isVoteRequest && !m.transfer && this.inLease()) return false;
    if (m.type === MessageType.PreVote) return true;
    if (m.type === MessageType.PreVoteResponse && m.granted) return true;
    const fromLeader = m.type === MessageType.Append || m.type === MessageType.Heartbeat ||
      m.type === MessageType.InstallSnapshot;
    this.becomeFollower(m.term, fromLeader ? m.from : null, !isVoteRequest);
    return true;
  }

  private onLowerTerm(m: Message): void {
    if (m.type === MessageType.Append || m.type === MessageType.Heartbeat) {
      // A stale leader learns our term from any answer and steps down.
      this.send({ type: MessageType.HeartbeatResponse, to: m.from, readSeq: 0 });
    } else if (m.type === MessageType.PreVote) {
      this.send({ type: MessageType.PreVoteResponse, to: m.from, granted: false });
    } else if (m.type === MessageType.Vote) {
      // §5.1: the candidate learns our term. Without this, a candidate whose configuration
      // omits the nodes with higher terms never hears of them and campaigns forever.
      this.send({ type: MessageType.VoteResponse, to: m.from, granted: false });
    }
  }

  /**
   * Shortly after hearing from a leader, vote requests are ignored (so a returning node
   * cannot disrupt a healthy cluster). The lease is two ticks shorter than the election
   * timeout: a leader heartbeats every tick or so, and without the slack a candidate whose
   * clock runs a tick ahead of its peers' (tick phase, drift) would be ignored and lose a
   * whole extra election timeout after a real leader failure.
   */
  protected inLease(): boolean {
    const leaseTicks = Math.max(
      this.limits.heartbeatTicks + 1,
      this.limits.electionTimeoutTicks - 2,
    );
    return this.limits.checkQuorum && this.leader !== null && this.electionElapsed < leaseTicks;
  }

  protected onVoteRequest(m: VoteRequest): void {
    const pre = m.type === MessageType.PreVote;
    const canVote = this.vote === m.from || (this.vote === null && this.leader === null) ||
      (pre && m.term > this.term);
    const granted = canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const type = pre ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    this.send({ type, to: m.from, granted, term: granted && pre ? m.term : this.term });
    if (granted && !pre) {
      this.vote = m.from;
      this.stateDirty = true;
      this.resetElectionTimer();
    }
  }

  protected onVoteResponse(m: VoteResponse): void {
    const expected = this.role === "preCandidate"
      ? MessageType.PreVoteResponse
      : this.role === "candidate"
      ? MessageType.VoteResponse
      : null;
    if (m.type !== expected || !this.isVoter(m.from)) return;
    this.votes.set(m.from, m.granted);
    this.tallyVotes();
  }

  // ---- follower side --------------------------------------------------------------------

  protected followLeader(leader: NodeId): void {
    if (this.role !== "follower" || this.leader !== leader) this.becomeFollower(this.term, leader);
    this.electionElapsed = 0;
  }

  protected onAppend(m: AppendRequest): void {
    this.followLeader(m.from);
    const respond = (success: boolean, index: number, conflictTerm = 0, conflictIndex = 0) =>
      this.send({
        type: MessageType.AppendResponse,
        to: m.from,
        success,
        index,
        conflictTerm,
        conflictIndex,
      });
    if (m.prevIndex < this.log.committed) return respond(true, this.log.committed);
    const ourTerm = this.log.termOrNull(m.prevIndex);
    if (ourTerm !== m.prevTerm) {
      if (ourTerm === null) return respond(false, m.prevIndex, 0, this.log.lastIndex() + 1);
      return respond(false, m.prevIndex, ourTerm, this.firstIndexOfTerm(m.prevIndex, ourTerm));
    }
    this.appendFromLeader(m.entries);
    const lastNew = m.prevIndex + m.entries.length;
    this.commitTo(Math.min(m.commit, lastNew));
    respond(true, lastNew);
  }

  /** The first index of the run of `term` that ends at `index` (a conflict hint). */
  private firstIndexOfTerm(index: number, term: number): number {
    let first = index;
    while (first - 1 > this.log.committed && this.log.termOrNull(first - 1) === term) first--;
    return first;
  }

  /** Skips entries we already have, truncates at the first conflict, appends the rest. */
  private appendFromLeader(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      if (this.log.termOrNull(entry.index) === entry.term) continue;
      if (entry.index <= this.log.lastIndex()) this.truncate(entry.index);
      this.appendToLog(entries.slice(i));
      return;
    }
  }

  protected truncate(fromIndex: number): void {
    this.log.truncate(fromIndex);
    const kept = this.configs.filter((c, i) => i === 0 || c.index < fromIndex);
    if (kept.length !== this.configs.length) {
      this.configs = kept;
      this.stateDirty = true;
      this.onMembershipChanged();
    }
  }

  /** Appends to the log view; a Config entry takes effect at once. */
  protected appendToLog(entries: readonly Entry[]): void {
    this.log.append(entries);
    let changed = false;
    for (const entry of entries) {
      if (entry.kind !== EntryKind.Config) continue;
      const membership = decodeMembership(entry.data);
      this.configs.push({ index: entry.index, term: entry.term, membership });
      changed = true;
    }
    if (changed) {
      this.stateDirty = true;
      this.onMembershipChanged();
    }
  }

  /** Hook: the leader half resyncs its progress map. */
  protected onMembershipChanged(): void {}

  protected commitTo(index: number): void {
    if (index <= this.log.committed) return;
    this.log.committed = Math.min(index, this.log.lastIndex());
    this.pruneConfigs();
  }

  /** Keeps the latest configuration at or below the commit index and everything after. */
  private pruneConfigs(): void {
    let keepFrom = 0;
    for (let i = 0; i < this.configs.length; i++) {
      if ((this.configs[i] as ConfigRecord).index <= this.log.committed) keepFrom = i;
    }
    if (keepFrom > 0) this.configs = this.configs.slice(keepFrom);
  }

  /** The configuration at or below the commit index (what a snapshot may carry). */
  protected committedConfig(): ConfigRecord {
    let chosen = this.configs[0] as ConfigRecord;
    for (const config of this.configs) if (config.index <= this.log.committed) chosen = config;
    return chosen;
  }

  protected onInstallSnapshot(m: InstallSnapshot): void {
    this.followLeader(m.from);
    const respond = (index: number) =>
      this.send({
        type: MessageType.AppendResponse,
        to: m.from,
        success: true,
        index,
        conflictTerm: 0,
        conflictIndex: 0,
      });
    if (m.index <= this.log.committed) return respond(this.log.committed);
    if (this.log.termOrNull(m.index) === m.snapshotTerm) {
      this.commitTo(m.index);
      return respond(m.index);
    }
    this.log.restart(m.index, m.snapshotTerm, m.nextOffset);
    this.configs = [{ index: m.configIndex, term: m.snapshotTerm, membership: m.config }];
    this.stateDirty = true;
    this.onMembershipChanged();
    respond(m.index);
  }

  /** Builds a no-op or record entry continuing the log. */
  protected newEntry(kind: EntryKind, records: readonly Uint8Array[], data = EMPTY): Entry {
    return {
      term: this.term,
      index: this.log.lastIndex() + 1,
      kind,
      baseOffset: this.log.nextOffset(),
      records,
      data,
    };
  }

  /** Takes the accumulated outputs (see {@linkcode Ready} for the order of work). */
  protected takeReady(): Ready {
    const committed = this.takeCommittedEntries();
    const persist = this.log.takePersist();
    const ready: Ready = {
      state: persist.restart !== null
        ? { ...this.persistentState(), restart: persist.restart }
        : this.stateDirty
        ? this.persistentState()
        : null,
      persist,
      messages: this.messages,
      committed,
      readStates: this.readStates,
    };
    this.stateDirty = false;
    this.messages = [];
    this.readStates = [];
    return ready;
  }

  /**
   * Committed entries already durable here that were not handed out yet (at most
   * `applyBytesMax` bytes), marked as handed out.
   */
  protected takeCommittedEntries(): Entry[] {
    const committed = this.log.nextToApply(this.limits.applyBytesMax);
    const last = committed[committed.length - 1];
    if (last !== undefined) this.log.applied = last.index;
    return committed;
  }

  /** Whether `takeReady` would return any work. */
  protected readyPending(): boolean {
    return this.stateDirty || this.messages.length > 0 || this.readStates.length > 0 ||
      this.log.hasPersistWork() ||
      Math.min(this.log.committed, this.log.stableLastIndex()) > this.log.applied;
  }
}

/**
 * Drops saved configurations whose entries did not make it to the log (state is saved before
 * entries are appended, so a crash in between leaves such records). The oldest is the base.
 */
function reconcileConfigs(configs: readonly ConfigRecord[], store: EntryStore): ConfigRecord[] {
  const first = store.firstIndex();
  const last = store.lastIndex();
  return configs.filter((config, i) =>
    i === 0 || config.index < first ||
    (config.index <= last && store.termAt(config.index) === config.term)
  );
}
