/**
 * The public Raft core: ticks, message dispatch, and the leader half of the protocol
 * (replication, commit, heartbeats, ReadIndex, leadership transfer, membership changes).
 * @module
 */

import { type Entry, EntryKind } from "../log/mod.ts";
import { CoreBase } from "./_core.ts";
import {
  applyChange,
  decodeMembership,
  encodeMembership,
  quorumIndex,
  quorumOf,
  RaftError,
} from "./_membership.ts";
import {
  type AppendResponse,
  type ConfigChange,
  type HeartbeatResponse,
  type Message,
  MessageType,
  type NodeId,
  type ReadIndexRequest,
  type ReadIndexResponse,
} from "./_messages.ts";
import type { Proposal, RaftOptions, Ready } from "./_options.ts";
import { Progress } from "./_progress.ts";
import { entryBytes } from "./_raft_log.ts";

interface PendingRead {
  readonly readId: string;
  readonly from: NodeId;
  readonly index: number;
  readonly seq: number;
}

/**
 * A Raft node's consensus logic, free of IO.
 *
 * @example
 * ```ts
 * const core = new RaftCore({ id: "a", store, random, persisted: null, bootstrap });
 * core.tick();
 * if (core.hasReady()) {
 *   const ready = core.ready();
 *   // persist ready.state and ready.persist, then send ready.messages, apply ready.committed
 *   core.advance(ready);
 * }
 * ```
 */
export class RaftCore extends CoreBase {
  readonly #progress = new Map<NodeId, Progress>();
  #transferee: NodeId | null = null;
  #transferElapsed = 0;
  #readSeq = 0;
  #pendingReads: PendingRead[] = [];
  #readsAwaitingCommit: { readId: string; from: NodeId }[] = [];
  /** Reads this follower forwarded, by id: only their leader's answer in their term counts. */
  readonly #forwardedReads = new Map<string, { leader: NodeId; term: number }>();

  constructor(options: RaftOptions) {
    super(options);
  }

  // ---- inputs ---------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === "leader") return this.#tickLeader();
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedTimeoutTicks && this.mayCampaign()) {
      this.campaign(this.limits.preVote ? "pre" : "real", false);
    } else if (
      this.role !== "follower" && this.electionElapsed % this.limits.heartbeatTicks === 0
    ) {
      this.requestVotes();
    }
  }

  /**
   * Handles one message from a peer. A malformed message (entries that do not continue
   * `prevIndex`, an undecodable configuration, …) throws before any state changes; the
   * driver drops it.
   */
  step(m: Message): void {
    if (m.to !== this.id) return;
    checkMessage(m);
    if (!this.checkTerm(m)) return;
    switch (m.type) {
      case MessageType.PreVote:
      case MessageType.Vote:
        return this.onVoteRequest(m);
      case MessageType.PreVoteResponse:
      case MessageType.VoteResponse:
        return this.onVoteResponse(m);
      case MessageType.Append:
        return this.onAppend(m);
      case MessageType.AppendResponse:
        return this.#onAppendResponse(m);
      case MessageType.Heartbeat:
        this.followLeader(m.from);
        this.commitTo(m.commit);
        return this.send({ type: MessageType.HeartbeatResponse, to: m.from, readSeq: m.readSeq });
      case MessageType.HeartbeatResponse:
        return this.#onHeartbeatResponse(m);
      case MessageType.InstallSnapshot:
        return this.onInstallSnapshot(m);
      case MessageType.TimeoutNow:
        if (this.isVoter()) this.campaign("real", true);
        return;
      case MessageType.ReadIndex:
        return this.#onReadIndex(m);
      case MessageType.ReadIndexResponse:
        return this.#onReadIndexResponse(m);
    }
  }

  /**
   * Appends a batch of records (leader only), with optional batch `data` stored in its entry
   * (opaque to Raft). Acknowledge once `index` applies with `term`.
   */
  propose(records: readonly Uint8Array[], data?: Uint8Array): Proposal {
    this.#checkCanPropose("append records");
    const entry = data === undefined
      ? this.newEntry(EntryKind.Records, records)
      : this.newEntry(EntryKind.Records, records, data);
    this.#appendAndReplicate(entry);
    return { index: entry.index, term: entry.term, baseOffset: entry.baseOffset };
  }

  /** Proposes a one-server membership change (leader only; one change at a time). */
  proposeConfigChange(change: ConfigChange): Proposal {
    this.#checkCanPropose(`${change.type} ${change.id}`);
    const latest = this.configs[this.configs.length - 1];
    if (!this.#committedInTerm() || (latest !== undefined && latest.index > this.log.committed)) {
      throw new RaftError(
        "CHANGE_PENDING",
        `Cannot ${change.type} ${change.id}: a membership change or the term's first entry is not committed yet`,
      );
    }
    const membership = applyChange(this.membership(), change);
    const entry = this.newEntry(EntryKind.Config, [], encodeMembership(membership));
    this.#appendAndReplicate(entry);
    return { index: entry.index, term: entry.term, baseOffset: entry.baseOffset };
  }

  /** Hands leadership to `to` once it is up to date (aborted after an election timeout). */
  transferLeadership(to: NodeId): void {
    if (this.role !== "leader") throw this.notLeader(`transfer leadership to ${to}`);
    if (to === this.id) return;
    const progress = this.#progress.get(to);
    if (progress === undefined || !this.isVoter(to)) {
      throw new RaftError("INVALID_CHANGE", `Cannot transfer leadership to ${to}: not a voter`);
    }
    this.#transferee = to;
    this.#transferElapsed = 0;
    if (progress.match === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, to });
    else this.#sendAppend(to, true);
  }

  /**
   * Starts a linearizable read; its {@linkcode ReadState} comes back in a later Ready.
   * `readId` must be unique across restarts of this node (an answer is matched by it).
   */
  readIndex(readId: string): void {
    if (this.role === "leader") return this.#leaderRead(readId, this.id);
    if (this.leader === null) throw this.notLeader("serve a linearizable read");
    if (this.#forwardedReads.size >= FORWARDED_READS_MAX) {
      throw new RaftError(
        "OVERLOADED",
        `Cannot serve a linearizable read on ${this.id}: ${FORWARDED_READS_MAX} reads await the leader`,
        this.leader,
      );
    }
    this.#forwardedReads.set(readId, { leader: this.leader, term: this.term });
    this.send({ type: MessageType.ReadIndex, to: this.leader, readId });
  }

  /** Forgets a read the driver gave up on (timed out), so its answer is ignored. */
  cancelRead(readId: string): void {
    this.#forwardedReads.delete(readId);
  }

  /**
   * The transport dropped messages to `id`: stop pipelining to it and resend from what it
   * acknowledged (as etcd's ReportUnreachable), instead of waiting for it to notice the gap.
   */
  reportUnreachable(id: NodeId): void {
    const progress = this.#progress.get(id);
    if (this.role === "leader" && progress?.state === "replicate") progress.becomeProbe();
  }

  /** Counters for metrics. */
  counters(): { electionsStarted: number } {
    return { electionsStarted: this.electionsStarted };
  }

  /**
   * The leader's view of each follower and learner (empty on other roles): how far its log
   * matches, for promoting a learner once it caught up, and for metrics.
   */
  followers(): { id: NodeId; match: number; state: "probe" | "replicate"; active: boolean }[] {
    return [...this.#progress].map(([id, progress]) => ({
      id,
      match: progress.match,
      state: progress.state,
      active: progress.recentActive,
    }));
  }

  // ---- outputs --------------------------------------------------------------------------

  /** Whether {@linkcode ready} has work. */
  hasReady(): boolean {
    return this.readyPending();
  }

  /** Takes the pending work; call {@linkcode advance} with it when done. */
  ready(): Ready {
    return this.takeReady();
  }

  /**
   * Takes the messages that may leave before the pending Ready is persisted: what a leader
   * sends in a term already saved (AppendEntries, heartbeats, snapshots, TimeoutNow, read
   * answers), forwarded reads and heartbeat answers. A leader's own append counts toward commit only once
   * durable, so followers may write in parallel (Raft thesis §10.2.1), and heartbeats never
   * wait behind the leader's disk. Answers that acknowledge state (votes, appends) wait.
   */
  takeEarlyMessages(): Message[] {
    const early: Message[] = [];
    const later: Message[] = [];
    for (const m of this.messages) {
      (m.term === this.durableTerm && EARLY_TYPES.has(m.type) ? early : later).push(m);
    }
    this.messages = later;
    return early;
  }

  /**
   * Takes the committed entries that may be applied before the pending Ready is persisted:
   * all of them, as the core only hands out entries already durable here (etcd applies them
   * in parallel with the next write too). Apply them in order, after those of any Ready taken
   * before, so that an acknowledgement arriving during a write is not held until the write
   * ends.
   */
  takeCommitted(): Entry[] {
    return this.takeCommittedEntries();
  }

  /** The driver finished `ready`: its state and entries are durable. */
  advance(ready: Ready): void {
    if (ready.state !== null) this.durableTerm = ready.state.term;
    const last = ready.persist.entries[ready.persist.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index);
    if (this.role === "leader" && this.#maybeCommit()) this.#broadcastCommit();
  }

  // ---- leader ---------------------------------------------------------------------------

  protected override becomeLeader(): void {
    this.role = "leader";
    this.leader = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.#progress.clear();
    this.onMembershipChanged();
    this.#appendAndReplicate(this.newEntry(EntryKind.Noop, []));
  }

  protected override onLeadershipLost(): void {
    // Reads forwarded to the previous leader can no longer be answered validly.
    this.#forwardedReads.clear();
    this.#progress.clear();
    this.log.retainFrom(null);
    this.#transferee = null;
    this.#pendingReads = [];
    this.#readsAwaitingCommit = [];
  }

  protected override onMembershipChanged(): void {
    if (this.role !== "leader") return;
    const members = new Set([...this.membership().voters, ...this.membership().learners]);
    for (const id of members) {
      if (id !== this.id && !this.#progress.has(id)) {
        const progress = new Progress(this.log.lastIndex() + 1);
        progress.recentActive = true;
        this.#progress.set(id, progress);
      }
    }
    for (const id of [...this.#progress.keys()]) if (!members.has(id)) this.#progress.delete(id);
    this.#retainForFollowers();
    if (this.#transferee !== null && !members.has(this.#transferee)) this.#transferee = null;
    if (this.#maybeCommit()) this.#broadcastCommit();
  }

  /** Keeps in memory what some follower does not hold yet (see `RaftLog.retainFrom`). */
  #retainForFollowers(): void {
    let from: number | null = null;
    for (const progress of this.#progress.values()) {
      from = Math.min(from ?? Infinity, progress.match + 1);
    }
    this.log.retainFrom(from);
  }

  #checkCanPropose(action: string): void {
    if (this.role !== "leader") throw this.notLeader(action);
    if (this.#transferee !== null) {
      throw new RaftError(
        "TRANSFER_IN_PROGRESS",
        `Cannot ${action}: leadership is moving to ${this.#transferee}`,
      );
    }
    const uncommitted = this.log.lastIndex() - this.log.committed;
    if (uncommitted >= this.limits.uncommittedEntriesMax) {
      throw new RaftError(
        "OVERLOADED",
        `Cannot ${action}: ${uncommitted} entries await commit (limit ${this.limits.uncommittedEntriesMax})`,
      );
    }
  }

  #appendAndReplicate(entry: Entry): void {
    this.appendToLog([entry]);
    this.#broadcastAppend(false);
  }

  #committedInTerm(): boolean {
    return this.log.termOrNull(this.log.committed) === this.term;
  }

  #tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.#transferee !== null && ++this.#transferElapsed >= this.limits.electionTimeoutTicks) {
      this.#transferee = null;
    }
    if (this.electionElapsed >= this.limits.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.limits.checkQuorum && !this.#quorumActive()) {
        return this.becomeFollower(this.term, null);
      }
    }
    if (this.heartbeatElapsed >= this.limits.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.#broadcastHeartbeat();
    }
  }

  /** Check-quorum: did a majority of voters answer since the last round? Resets the marks. */
  #quorumActive(): boolean {
    const voters = this.membership().voters;
    let active = 0;
    for (const voter of voters) {
      if (voter === this.id || this.#progress.get(voter)?.recentActive === true) active++;
    }
    for (const progress of this.#progress.values()) progress.recentActive = false;
    return active >= quorumOf(voters.length);
  }

  #broadcastHeartbeat(): void {
    for (const [id, progress] of this.#progress) {
      this.send({
        type: MessageType.Heartbeat,
        to: id,
        commit: Math.min(progress.match, this.log.committed),
        readSeq: this.#readSeq,
      });
    }
  }

  /**
   * The commit index moved: each follower learns it from the next AppendEntries it gets. An
   * empty one (commit only) goes at once to a follower with nothing in flight; one with
   * appends in flight learns it from its next entries, or from the empty append that the
   * answer to its last in-flight append lets out (#onAppendResponse), or from a heartbeat.
   * Under load a batch then costs no commit-only message per follower (a frame, a Ready and
   * an answer on both sides), yet an idle follower still learns every commit at once.
   */
  #broadcastCommit(): void {
    for (const [id, progress] of this.#progress) this.#sendAppend(id, !progress.hasInflight());
  }

  #broadcastAppend(allowEmpty: boolean): void {
    for (const id of this.#progress.keys()) this.#sendAppend(id, allowEmpty);
  }

  /** Sends the next AppendEntries (or InstallSnapshot) to `to`; returns whether it sent. */
  #sendAppend(to: NodeId, allowEmpty: boolean): boolean {
    const progress = this.#progress.get(to);
    if (progress === undefined || progress.isPaused(this.limits)) return false;
    if (progress.next < this.log.firstIndex()) return this.#sendSnapshot(to, progress);
    const prevIndex = progress.next - 1;
    const entries = progress.next <= this.log.lastIndex()
      ? this.log.entries(progress.next, this.log.lastIndex() + 1, this.limits.appendBytesMax)
      : [];
    if (entries.length === 0 && !allowEmpty) return false;
    this.send({
      type: MessageType.Append,
      to,
      prevIndex,
      prevTerm: this.log.termAt(prevIndex),
      entries,
      commit: this.log.committed,
    });
    progress.commitSent = this.log.committed;
    let bytes = 0;
    for (const entry of entries) bytes += entryBytes(entry);
    progress.sent(prevIndex + entries.length, bytes);
    return true;
  }

  /** The follower needs entries retention deleted: restart it at our first retained entry. */
  #sendSnapshot(to: NodeId, progress: Progress): boolean {
    if (progress.state === "replicate") progress.becomeProbe();
    const first = this.log.firstIndex();
    const nextOffset = first <= this.log.lastIndex()
      ? (this.log.entries(first, first + 1, 0)[0] as Entry).baseOffset
      : this.log.nextOffset();
    const config = this.committedConfig();
    this.send({
      type: MessageType.InstallSnapshot,
      to,
      index: first - 1,
      snapshotTerm: this.log.termAt(first - 1),
      nextOffset,
      config: config.membership,
      configIndex: Math.min(config.index, first - 1),
    });
    progress.sent(first - 1, 0);
    return true;
  }

  #onAppendResponse(m: AppendResponse): void {
    const progress = this.#progress.get(m.from);
    if (this.role !== "leader" || progress === undefined) return;
    progress.recentActive = true;
    if (!m.success) {
      if (progress.reject(m.index, this.#resumeIndex(m))) this.#sendAppend(m.from, true);
      return;
    }
    if (progress.acknowledge(m.index)) {
      this.#retainForFollowers();
      if (this.#maybeCommit()) this.#broadcastCommit();
      if (m.from === this.#transferee && progress.match === this.log.lastIndex()) {
        this.send({ type: MessageType.TimeoutNow, to: m.from });
      }
    }
    // An empty append still tells a follower about a commit index it has not seen yet, once
    // nothing else is in flight to it (see #broadcastCommit).
    let allowEmpty = progress.commitSent < this.log.committed && !progress.hasInflight();
    for (
      let i = 0;
      i < this.limits.inflightMessagesMax && this.#sendAppend(m.from, allowEmpty);
      i++
    ) {
      allowEmpty = false;
    }
  }

  /** Where to resume after a rejection, from the follower's conflict hints (§5.3 optimization). */
  #resumeIndex(m: AppendResponse): number {
    if (m.conflictTerm === 0) return m.conflictIndex;
    let index = Math.min(m.index, this.log.lastIndex());
    const floor = this.log.firstIndex() - 1;
    while (index > floor && (this.log.termOrNull(index) ?? 0) > m.conflictTerm) index--;
    return this.log.termOrNull(index) === m.conflictTerm ? index + 1 : m.conflictIndex;
  }

  #onHeartbeatResponse(m: HeartbeatResponse): void {
    const progress = this.#progress.get(m.from);
    if (this.role !== "leader" || progress === undefined) return;
    progress.recentActive = true;
    if (progress.state === "replicate" && progress.isPaused(this.limits)) progress.freeOldest();
    progress.probeSent = false;
    if (progress.match < this.log.lastIndex()) this.#sendAppend(m.from, true);
    if (m.readSeq > progress.readSeqAcked) {
      progress.readSeqAcked = m.readSeq;
      this.#releaseReads();
    }
  }

  /** Commit rule (§5.4.2): a majority holds it and it is from the current term. */
  #maybeCommit(): boolean {
    if (this.role !== "leader") return false;
    const matches = this.membership().voters.map((id) =>
      id === this.id ? this.log.stableLastIndex() : (this.#progress.get(id)?.match ?? 0)
    );
    const index = quorumIndex(matches);
    if (index <= this.log.committed || this.log.termOrNull(index) !== this.term) return false;
    this.commitTo(index);
    return true;
  }

  protected override commitTo(index: number): void {
    super.commitTo(index);
    if (this.role !== "leader") return;
    const latest = this.configs[this.configs.length - 1];
    if (!this.isVoter() && latest !== undefined && latest.index <= this.log.committed) {
      // Removed from the cluster and the change is committed: step down cleanly, handing
      // over to the most up-to-date voter so the cluster need not wait for a timeout.
      this.#broadcastAppend(true);
      const successor = this.#mostUpToDateVoter();
      if (successor !== null) this.send({ type: MessageType.TimeoutNow, to: successor });
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.#committedInTerm() && this.#readsAwaitingCommit.length > 0) {
      const waiting = this.#readsAwaitingCommit;
      this.#readsAwaitingCommit = [];
      for (const read of waiting) this.#leaderRead(read.readId, read.from);
    }
  }

  #mostUpToDateVoter(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const voter of this.membership().voters) {
      const match = this.#progress.get(voter)?.match ?? -1;
      if (match > bestMatch) [best, bestMatch] = [voter, match];
    }
    return best;
  }

  // ---- ReadIndex ------------------------------------------------------------------------

  #onReadIndex(m: ReadIndexRequest): void {
    if (this.role === "leader") this.#leaderRead(m.readId, m.from);
  }

  /** Only the answer of the leader the read went to, in the term it went in, completes it. */
  #onReadIndexResponse(m: ReadIndexResponse): void {
    const forwarded = this.#forwardedReads.get(m.readId);
    if (forwarded === undefined || forwarded.leader !== m.from || forwarded.term !== m.term) return;
    this.#forwardedReads.delete(m.readId);
    this.readStates.push({ readId: m.readId, index: m.index });
  }

  /** Records the commit index, then confirms leadership with a heartbeat round (§6.4). */
  #leaderRead(readId: string, from: NodeId): void {
    if (!this.#committedInTerm()) {
      this.#readsAwaitingCommit.push({ readId, from });
      return;
    }
    const read = { readId, from, index: this.log.committed, seq: ++this.#readSeq };
    this.#pendingReads.push(read);
    if (this.#readConfirmed(read.seq)) this.#releaseReads();
    else this.#broadcastHeartbeat();
  }

  #readConfirmed(seq: number): boolean {
    const voters = this.membership().voters;
    let acks = 0;
    for (const voter of voters) {
      if (voter === this.id || (this.#progress.get(voter)?.readSeqAcked ?? 0) >= seq) acks++;
    }
    return acks >= quorumOf(voters.length);
  }

  #releaseReads(): void {
    while (this.#pendingReads.length > 0) {
      const read = this.#pendingReads[0] as PendingRead;
      if (!this.#readConfirmed(read.seq)) return;
      this.#pendingReads.shift();
      if (read.from === this.id) this.readStates.push({ readId: read.readId, index: read.index });
      else {
        this.send({
          type: MessageType.ReadIndexResponse,
          to: read.from,
          readId: read.readId,
          index: read.index,
        });
      }
    }
  }
}

/** Reads a follower forwards and keeps track of at once. */
const FORWARDED_READS_MAX = 4096;

/** Message types that may be sent before the Ready that produced them is persisted. */
const EARLY_TYPES: ReadonlySet<number> = new Set([
  MessageType.Append,
  MessageType.Heartbeat,
  MessageType.InstallSnapshot,
  MessageType.TimeoutNow,
  MessageType.ReadIndex,
  MessageType.ReadIndexResponse,
  // It echoes a read round and the (saved) term, and acknowledges no entry: a follower with
  // a slow disk still confirms its leader, so check-quorum and reads do not wait on its disk.
  MessageType.HeartbeatResponse,
]);

/**
 * Rejects messages the core must not act on (a buggy or hostile peer): entries must
 * continue prevIndex with dense offsets and non-decreasing terms no newer than the sender's,
 * configurations must decode. Throws before the core changes any state.
 */
function checkMessage(m: Message): void {
  const fail = (why: string): never => {
    throw new Error(`Cannot step message type ${m.type} from ${m.from}: ${why}`);
  };
  if (m.type === MessageType.InstallSnapshot) {
    if (m.config.voters.length === 0) fail("the snapshot configuration has no voters");
    if (m.snapshotTerm > m.term || m.configIndex > m.index) fail("snapshot point out of range");
    return;
  }
  if (m.type !== MessageType.Append) return;
  let term = m.prevTerm;
  let offset = m.entries[0]?.baseOffset ?? 0;
  for (let i = 0; i < m.entries.length; i++) {
    const entry = m.entries[i] as Entry;
    if (entry.index !== m.prevIndex + 1 + i) fail(`entry ${i} has index ${entry.index}`);
    if (entry.term < term || entry.term > m.term) {
      fail(`entry ${entry.index} has term ${entry.term}`);
    }
    if (entry.baseOffset !== offset) fail(`entry ${entry.index} has offset ${entry.baseOffset}`);
    term = entry.term;
    offset += entry.records.length;
    if (entry.kind === EntryKind.Config) {
      let voters: unknown;
      try {
        voters = decodeMembership(entry.data).voters;
      } catch {
        fail(`entry ${entry.index} holds an undecodable configuration`);
      }
      if (!Array.isArray(voters) || voters.length === 0) fail(`entry ${entry.index}: no voters`);
    }
  }
}
