/**
 * The SWIM membership core: a pure state machine. Time arrives as `nowMs`, randomness from
 * an injected {@linkcode Random}, packets as decoded messages; what to send, which
 * full-state exchanges to run and which events to report come back from `takeReady()`.
 * No IO, timers or clocks in here, so a simulation can drive hundreds of nodes from one seed.
 *
 * Protocol (SWIM with Lifeguard, as in hashicorp/memberlist and serf):
 * - one probe per interval, round-robin over a shuffled member list: ping, then ping-req
 *   through `indirectChecks` members, then suspicion;
 * - suspicion with incarnations; the timeout shrinks with independent confirmations; a
 *   node whose probes fail without nacks raises its awareness score and stretches its
 *   probe interval and timeout;
 * - state changes piggyback on every packet and on gossip rounds, each sent
 *   `retransmitLimit(n)` times;
 * - push/pull full-state exchange on join, periodically, and towards failed members
 *   (reconnect), which heals partitions.
 * @module
 */

import {
  defaultConfig,
  type MembershipConfig,
  pushPullIntervalMs,
  retransmitLimit,
  suspicionTimeoutsMs,
} from "./_config.ts";
import { BroadcastQueue } from "./_broadcast.ts";
import { checkWireString, messageSizeBytes, sealOverheadBytes, tagsSizeBytes } from "./_codec.ts";
import { DiscoveryError } from "./_errors.ts";
import { isLive, type MemberRecord, MemberTable, snapshot } from "./_member_table.ts";
import { type ProbeHost, Prober } from "./_prober.ts";
import { Suspicion } from "./_suspicion.ts";
import type {
  AliveMessage,
  DeadMessage,
  MembershipEventType,
  MemberState,
  Message,
  Random,
  Ready,
  StateMessage,
  SuspectMessage,
  Tags,
} from "./_types.ts";

/** Lifecycle of the local node: `leaving` still answers while its leave spreads. */
export type NodeStatus = "running" | "leaving" | "left";

/** Options of {@linkcode Membership}. */
export interface MembershipOptions {
  /** Unique member name (at most 255 UTF-8 bytes). */
  readonly name: string;
  /** Address others reach this node at, `host:port`. */
  readonly address: string;
  /** The member's metadata. */
  readonly tags?: Tags;
  /** Protocol settings overriding `defaultConfig`. */
  readonly config?: Partial<MembershipConfig>;
  /** Randomness: seeded in simulation, crypto-backed in production. */
  readonly random: Random;
  /** The core's clock at creation. */
  readonly nowMs: number;
}

/** Counters of the core's decisions, for metrics and tests. */
export interface MembershipStats {
  /** Probes started. */
  probes: number;
  /** Probes that got no ack, direct or indirect. */
  probesFailed: number;
  /** Suspicions this node started or adopted. */
  suspicionsStarted: number;
  /** Times this node refuted a suspicion of itself. */
  refutations: number;
  /**
   * Alive claims ignored because another live member holds that name at another address
   * (a second process under a live name), plus claims about this node from elsewhere.
   */
  nameConflicts: number;
  /**
   * Stale alive claims about a failed, left or reaped member (a replayed packet, or a
   * restarted member that has not refuted yet) answered with a challenge, not believed.
   */
  staleAlives: number;
  /** Newcomers refused because the table held `membersMax` live members. */
  membersRefused: number;
}

/** Bound on remembered syncs with unknown pingers. */
const strangerSyncsMax = 1024;

function sameTags(a: Tags, b: Tags): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

/**
 * One node's view of the cluster and its SWIM protocol state.
 *
 * @example
 * ```ts
 * const node = new Membership({ name: "a", address: "10.0.0.1:7946", random, nowMs: 0 });
 * node.join(["10.0.0.2:7946"]);
 * node.tick(20);
 * const { packets, pushPulls, events } = node.takeReady();
 * ```
 */
export class Membership {
  /** Effective settings (defaults overridden by the options). */
  readonly config: MembershipConfig;
  /** Decisions counted here; probe counters live in the prober. */
  readonly #counters = {
    suspicionsStarted: 0,
    refutations: 0,
    nameConflicts: 0,
    staleAlives: 0,
    membersRefused: 0,
  };
  readonly #random: Random;
  readonly #self: MemberRecord;
  readonly #table: MemberTable;
  readonly #prober: Prober;
  /** When we last synced with an unknown pinger, by address (bounded by `strangerSyncsMax`). */
  readonly #strangerSyncs = new Map<string, number>();
  /**
   * Leaves of members we did not know yet, by name: a member that leaves right after
   * joining can have its leave overtake its join; the late alive must not revive it.
   * Bounded by `strangerSyncsMax`, forgotten after `tombstoneTimeoutMs`.
   */
  readonly #earlyLeaves = new Map<string, { incarnation: number; atMs: number }>();
  /**
   * Members reaped (or evicted from a full table) with their last incarnation, so a
   * replayed packet cannot bring them back: an alive at or below it is challenged, not
   * believed. Bounded by `membersMax`, oldest forgotten first.
   */
  readonly #reaped = new Map<string, number>();
  /** When we last challenged a stale alive, by name (bounded by `strangerSyncsMax`). */
  readonly #challenges = new Map<string, number>();
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #broadcasts: BroadcastQueue;
  #nextGossipMs: number;
  #nextPushPullMs: number;
  #nextReconnectMs: number;
  #nextReapMs: number;
  #status: NodeStatus = "running";
  #leaveDeadlineMs = 0;
  #ready: Ready = { packets: [], pushPulls: [], events: [] };

  /** A running node that knows only itself until it joins or hears from others. */
  constructor(options: MembershipOptions) {
    this.config = { ...defaultConfig, ...options.config };
    this.#random = options.random;
    if (options.name === "" || options.address === "") {
      throw new DiscoveryError(
        "INVALID_ARGUMENT",
        "Cannot create a member without name and address",
      );
    }
    checkWireString("member name", options.name);
    checkWireString("address", options.address);
    const tags = { ...options.tags };
    this.#checkTags(tags);
    this.#self = {
      name: options.name,
      address: options.address,
      incarnation: 0,
      status: "alive",
      tags,
      statusChangeMs: options.nowMs,
    };
    this.#table = new MemberTable(this.#self, this.#random, this.config.membersMax);
    this.#broadcasts = new BroadcastQueue(this.config.broadcastsMax);
    const now = options.nowMs;
    // Random phases keep nodes started together from probing and gossiping in lockstep.
    const firstProbeMs = now + this.#random.intBelow(this.config.probeIntervalMs);
    this.#prober = new Prober(this.#probeHost(), firstProbeMs);
    this.#nextGossipMs = now + this.#random.intBelow(this.config.gossipIntervalMs);
    this.#nextPushPullMs = now + this.config.pushPullIntervalMs +
      this.#random.intBelow(this.config.pushPullIntervalMs);
    this.#nextReconnectMs = now + this.config.reconnectIntervalMs;
    this.#nextReapMs = now + this.config.reapIntervalMs;
  }

  /** Counters since creation. */
  get stats(): MembershipStats {
    return { ...this.#prober.stats, ...this.#counters };
  }

  /** This node's name. */
  get name(): string {
    return this.#self.name;
  }

  /** Running, leaving (announcing its leave) or left (silent). */
  get status(): NodeStatus {
    return this.#status;
  }

  /** Lifeguard self-awareness score: 0 is healthy; timeouts are stretched by score + 1. */
  get awareness(): number {
    return this.#prober.awareness;
  }

  /** Members alive or suspect, this node included: the `n` of the protocol's formulas. */
  get liveCount(): number {
    return this.#table.liveCount;
  }

  /** This node's view of every member it knows, itself included. */
  members(): MemberState[] {
    return [...this.#table.all()].map(snapshot);
  }

  /** The state sent in a push/pull exchange. */
  localState(): MemberState[] {
    return this.members();
  }

  /** Hands over everything to do since the last call. */
  takeReady(): Ready {
    const ready = this.#ready;
    this.#ready = { packets: [], pushPulls: [], events: [] };
    return ready;
  }

  /** Asks for a joining push/pull with each of `addresses`. */
  join(addresses: readonly string[]): void {
    this.#assertRunning("join");
    for (const to of addresses) this.#ready.pushPulls.push({ to, join: true });
  }

  /** Publishes new tags: raises the incarnation so the change wins everywhere. */
  setTags(nowMs: number, tags: Tags): void {
    this.#assertRunning("set tags");
    const copy = { ...tags };
    this.#checkTags(copy);
    this.#self.tags = copy;
    this.#self.incarnation++;
    this.#self.statusChangeMs = nowMs;
    this.#broadcasts.push(this.#aliveSelf());
  }

  /**
   * Starts a graceful leave: the node gossips that it left and keeps answering until the
   * message was sent `retransmitLimit` times (or `leavePropagateMsMax`), then goes silent.
   */
  leave(nowMs: number): void {
    if (this.#status !== "running") return;
    this.#status = "leaving";
    this.#prober.stop();
    const message: DeadMessage = {
      type: "dead",
      name: this.#self.name,
      incarnation: this.#self.incarnation,
      from: this.#self.name,
    };
    this.#table.setStatus(this.#self, "left", nowMs);
    this.#broadcasts.push(message);
    this.#leaveDeadlineMs = nowMs + this.config.leavePropagateMsMax;
  }

  /** Advances timers: probes, suspicion timeouts, gossip, push/pull, reconnects, reaping. */
  tick(nowMs: number): void {
    if (this.#status === "left") return;
    if (this.#status === "leaving") {
      if (this.#leaveDone(nowMs)) {
        this.#status = "left";
        return;
      }
    } else {
      this.#prober.tick(nowMs);
      this.#tickSuspicions(nowMs);
      this.#tickPeriodic(nowMs);
    }
    this.#prober.tickForwards(nowMs);
    this.#tickGossip(nowMs);
    this.#tickReap(nowMs);
  }

  /** Handles the messages of one packet received from `fromAddress`. */
  receive(nowMs: number, fromAddress: string, messages: readonly Message[]): void {
    if (this.#status === "left") return;
    for (const message of messages) this.#step(nowMs, fromAddress, message);
  }

  /** Merges a peer's full state (the reply to our push/pull, or its request). */
  mergeRemoteState(nowMs: number, states: readonly MemberState[]): void {
    if (this.#status === "left") return;
    for (const state of states) {
      if (state.status === "alive") {
        const { name, address, incarnation, tags } = state;
        this.#onAlive(nowMs, { type: "alive", name, address, incarnation, tags });
      } else if (state.status === "left") {
        const { name, incarnation } = state;
        this.#onDead(nowMs, { type: "dead", name, incarnation, from: name });
      } else {
        // A peer's "dead" is only a suspicion here: the member gets the chance to refute.
        const { name, incarnation } = state;
        this.#onSuspect(nowMs, { type: "suspect", name, incarnation, from: this.#self.name });
      }
    }
  }

  /**
   * Serves a peer's push/pull: merges its state, then answers with ours. Merging first
   * means a refutation of what the peer believed about us rides back in the same reply.
   */
  handlePushPull(nowMs: number, states: readonly MemberState[]): MemberState[] {
    this.mergeRemoteState(nowMs, states);
    return this.localState();
  }

  #step(nowMs: number, from: string, message: Message): void {
    switch (message.type) {
      case "ping":
        this.#onPing(from, message.seq, message.target);
        return this.#syncWithStranger(nowMs, from, message.source);
      case "pingReq":
        return this.#onPingReq(nowMs, from, message.seq, message.target, message.targetAddress);
      case "ack":
        return this.#prober.onAck(message.seq);
      case "nack":
        return this.#prober.onNack(message.seq);
      case "alive":
        return this.#onAlive(nowMs, message);
      case "suspect":
      case "dead":
        if (this.#correctStaleRumour(from, message)) return;
        return message.type === "dead"
          ? this.#onDead(nowMs, message)
          : this.#onSuspect(nowMs, message);
    }
  }

  /**
   * A suspicion or death notice older than the incarnation we know is a stale rumour; its
   * sender missed the refutation, which may no longer be gossiped. Answering it directly
   * with the member's current alive state corrects the sender before its own suspicion
   * timer can fire (a false positive we saw in simulation at 10% loss).
   */
  #correctStaleRumour(from: string, message: SuspectMessage | DeadMessage): boolean {
    const record = this.#table.get(message.name);
    if (record === undefined) return false;
    if (record.status === "left" && record !== this.#self) {
      // The sender missed a graceful leave and is about to call it a failure: tell it.
      if (message.incarnation > record.incarnation || message.from === message.name) return false;
      this.#sendLeaveNotice(from, record);
      return true;
    }
    if (message.incarnation >= record.incarnation) return false;
    if (record.status !== "alive" || (record === this.#self && this.#status !== "running")) {
      return true;
    }
    const { name, address, incarnation, tags } = record;
    this.#send(from, [{ type: "alive", name, address, incarnation, tags }]);
    return true;
  }

  /**
   * A ping from a member we do not know, or hold failed or left, means our view diverged:
   * we missed its join, or its refutation (gossip is spent; a one-way partition can hide
   * it). A full-state exchange with it fixes that at once, instead of waiting for the next
   * periodic push/pull or for a reconnect that, at probability failed/live, may take n
   * intervals. At most one per address per push/pull interval.
   */
  #syncWithStranger(nowMs: number, from: string, source: string): void {
    const record = this.#table.get(source);
    if (this.#status !== "running" || (record !== undefined && isLive(record.status))) return;
    const lastMs = this.#strangerSyncs.get(from);
    if (lastMs !== undefined && nowMs - lastMs < this.config.pushPullIntervalMs) return;
    if (this.#strangerSyncs.size >= strangerSyncsMax) this.#strangerSyncs.clear();
    this.#strangerSyncs.set(from, nowMs);
    this.#ready.pushPulls.push({ to: from, join: false });
  }

  #sendLeaveNotice(to: string, record: MemberRecord): void {
    const { name, incarnation } = record;
    this.#send(to, [{ type: "dead", name, incarnation, from: name }]);
  }

  #onPing(from: string, seq: number, target: string): void {
    // A ping for another name reached a reused address: staying silent lets its sender
    // suspect the member it really meant.
    if (target !== this.#self.name) return;
    this.#send(from, [{ type: "ack", seq }]);
  }

  #onPingReq(nowMs: number, from: string, seq: number, target: string, address: string): void {
    const record = this.#table.get(target);
    if (record !== undefined && record.status === "left" && record.address === address) {
      // The requester probes a member that left: the leave notice answers it better.
      return this.#sendLeaveNotice(from, record);
    }
    this.#prober.relay(nowMs, from, { seq, target, address });
  }

  #onAlive(nowMs: number, message: AliveMessage): void {
    if (message.name === this.#self.name) return this.#onAliveAboutSelf(message);
    const record = this.#table.get(message.name);
    if (record === undefined) return this.#addMember(nowMs, message);
    const addressChanged = record.address !== message.address;
    if (isLive(record.status)) {
      // Names are unique: a live member's address never flips. A second process under a
      // live name is refused (its join reply shows the conflict); a restarted one at a
      // new address gets in once the old instance is declared failed.
      if (addressChanged) {
        this.#counters.nameConflicts++;
        return;
      }
      if (message.incarnation <= record.incarnation) return;
    } else if (message.incarnation <= record.incarnation) {
      // A failed or left member speaks only with a higher incarnation, which a live
      // process produces by refuting (challenged here) and a replayed packet cannot.
      return this.#challenge(nowMs, message, record.incarnation);
    }
    const wasGone = !isLive(record.status);
    const tagsChanged = !sameTags(record.tags, message.tags);
    this.#suspicions.delete(record.name);
    record.address = message.address;
    record.tags = message.tags;
    record.incarnation = message.incarnation;
    this.#table.setStatus(record, "alive", nowMs);
    this.#broadcasts.push(message);
    if (wasGone) this.#emit("join", record, nowMs);
    else if (tagsChanged) this.#emit("update", record, nowMs);
  }

  /**
   * Answers an alive claim at or below what we know (`knownIncarnation`) about a failed,
   * left or reaped member with a suspicion sent to the claimed address: a process running
   * there under that name refutes it with a higher incarnation, which everyone believes;
   * a replayed packet gets nothing. At most once per name per probe interval.
   */
  #challenge(nowMs: number, message: AliveMessage, knownIncarnation: number): void {
    this.#counters.staleAlives++;
    if (this.#status !== "running") return;
    const lastMs = this.#challenges.get(message.name);
    if (lastMs !== undefined && nowMs - lastMs < this.config.probeIntervalMs) return;
    if (this.#challenges.size >= strangerSyncsMax) this.#challenges.clear();
    this.#challenges.set(message.name, nowMs);
    this.#send(message.address, [{
      type: "suspect",
      name: message.name,
      incarnation: knownIncarnation,
      from: this.#self.name,
    }]);
  }

  /** Remembers a member removed from the table (reaped or evicted), bounded. */
  #rememberReaped(record: MemberRecord): void {
    this.#reaped.delete(record.name);
    if (this.#reaped.size >= this.config.membersMax) {
      const oldest = this.#reaped.keys().next().value;
      if (oldest !== undefined) this.#reaped.delete(oldest);
    }
    this.#reaped.set(record.name, record.incarnation);
  }

  /**
   * The conflict a join reply reveals: the peer holds another live member under this
   * node's name, at another address. Returns a message naming both sides, or null.
   */
  nameConflict(states: readonly MemberState[]): string | null {
    const self = this.#self;
    const held = states.find((state) => state.name === self.name);
    if (held === undefined || held.address === self.address || !isLive(held.status)) return null;
    return `the cluster already has a live member named "${self.name}" at ${held.address} ` +
      `(this node is at ${self.address}); stop that process or choose another name. ` +
      `A node restarted at a new address is admitted once its old instance was declared failed`;
  }

  #onAliveAboutSelf(message: AliveMessage): void {
    if (this.#status !== "running") return;
    const self = this.#self;
    if (message.incarnation < self.incarnation) return;
    // Another address under our name: our previous instance, or a second process. Either
    // way refuting is safe (a view holding the other live address ignores us); count it.
    if (message.address !== self.address) this.#counters.nameConflicts++;
    const same = message.incarnation === self.incarnation && message.address === self.address &&
      sameTags(message.tags, self.tags);
    if (!same) this.#refute(message.incarnation);
  }

  #rememberEarlyLeave(nowMs: number, message: DeadMessage): void {
    if (this.#earlyLeaves.size >= strangerSyncsMax) this.#earlyLeaves.clear();
    this.#earlyLeaves.set(message.name, { incarnation: message.incarnation, atMs: nowMs });
  }

  /** True when `message` announces a member whose leave we already saw. */
  #leftEarly(nowMs: number, message: AliveMessage): boolean {
    const leave = this.#earlyLeaves.get(message.name);
    if (leave === undefined) return false;
    if (nowMs - leave.atMs >= this.config.tombstoneTimeoutMs) {
      this.#earlyLeaves.delete(message.name);
      return false;
    }
    return message.incarnation <= leave.incarnation;
  }

  #addMember(nowMs: number, message: AliveMessage): void {
    if (this.#leftEarly(nowMs, message)) return;
    const reapedIncarnation = this.#reaped.get(message.name);
    if (reapedIncarnation !== undefined) {
      if (message.incarnation <= reapedIncarnation) {
        return this.#challenge(nowMs, message, reapedIncarnation);
      }
      this.#reaped.delete(message.name);
    }
    const evicted = this.#table.makeRoom();
    if (evicted === undefined) {
      this.#counters.membersRefused++;
      return;
    }
    if (evicted !== null) this.#forget(evicted);
    const record: MemberRecord = {
      name: message.name,
      address: message.address,
      incarnation: message.incarnation,
      status: "alive",
      tags: message.tags,
      statusChangeMs: nowMs,
    };
    this.#table.add(record);
    this.#broadcasts.push(message);
    this.#emit("join", record, nowMs);
  }

  #onSuspect(nowMs: number, message: SuspectMessage): void {
    const record = this.#table.get(message.name);
    if (record === undefined || message.incarnation < record.incarnation) return;
    const suspicion = this.#suspicions.get(message.name);
    if (suspicion !== undefined) {
      if (suspicion.confirm(message.from)) this.#broadcasts.push(message);
      return;
    }
    if (record === this.#self) {
      if (this.#status === "running") this.#refute(message.incarnation);
      return;
    }
    if (record.status !== "alive") return;
    this.#startSuspicion(nowMs, record, message);
  }

  #startSuspicion(nowMs: number, record: MemberRecord, message: SuspectMessage): void {
    record.incarnation = message.incarnation;
    this.#table.setStatus(record, "suspect", nowMs);
    this.#broadcasts.push(message);
    this.#counters.suspicionsStarted++;
    const { minMs, maxMs } = suspicionTimeoutsMs(this.config, this.#table.liveCount);
    let confirmationsWanted = this.config.suspicionMult - 2;
    if (this.#table.liveCount - 2 < confirmationsWanted) confirmationsWanted = 0;
    this.#suspicions.set(
      record.name,
      new Suspicion({
        incarnation: message.incarnation,
        from: message.from,
        startMs: nowMs,
        minMs,
        maxMs,
        confirmationsWanted,
      }),
    );
  }

  #onDead(nowMs: number, message: DeadMessage): void {
    const record = this.#table.get(message.name);
    const leaving = message.from === message.name;
    if (record === undefined && leaving) return this.#rememberEarlyLeave(nowMs, message);
    if (record === undefined || message.incarnation < record.incarnation) return;
    if (record === this.#self) {
      if (this.#status === "running") this.#refute(message.incarnation);
      return;
    }
    if (record.status === "left") return;
    if (record.status === "dead" && !leaving) return;
    this.#suspicions.delete(record.name);
    record.incarnation = message.incarnation;
    this.#table.setStatus(record, leaving ? "left" : "dead", nowMs);
    this.#broadcasts.push(message);
    this.#emit(leaving ? "leave" : "fail", record, nowMs);
  }

  #refute(accusedIncarnation: number): void {
    this.#self.incarnation = Math.max(this.#self.incarnation, accusedIncarnation) + 1;
    this.#prober.adjustAwareness(1);
    this.#counters.refutations++;
    this.#broadcasts.push(this.#aliveSelf());
  }

  #tickSuspicions(nowMs: number): void {
    if (this.#suspicions.size === 0) return;
    const expired: string[] = [];
    for (const [name, suspicion] of this.#suspicions) {
      if (nowMs >= suspicion.deadlineMs) expired.push(name);
    }
    for (const name of expired) {
      const suspicion = this.#suspicions.get(name);
      this.#suspicions.delete(name);
      const record = this.#table.get(name);
      if (suspicion === undefined || record === undefined) continue;
      if (record.status !== "suspect" || record.incarnation !== suspicion.incarnation) continue;
      const { incarnation } = record;
      this.#onDead(nowMs, { type: "dead", name, incarnation, from: this.#self.name });
    }
  }

  #tickGossip(nowMs: number): void {
    if (nowMs < this.#nextGossipMs) return;
    this.#nextGossipMs = nowMs + this.config.gossipIntervalMs;
    if (this.#broadcasts.size === 0) return;
    const deadWindowMs = this.config.gossipToTheDeadMs;
    const peers = this.#table.randomMembers(this.config.gossipNodes, () => true);
    // One recently failed member too, so a falsely declared one learns it must refute.
    peers.push(
      ...this.#table.randomDead(1, (record) => nowMs - record.statusChangeMs < deadWindowMs),
    );
    for (const peer of peers) {
      if (this.#broadcasts.size === 0) break;
      this.#send(peer.address, []);
    }
  }

  #tickPeriodic(nowMs: number): void {
    if (nowMs >= this.#nextPushPullMs) {
      this.#nextPushPullMs = nowMs + pushPullIntervalMs(this.config, this.#table.liveCount);
      const [peer] = this.#table.randomMembers(1, (record) => record.status === "alive");
      if (peer !== undefined) this.#ready.pushPulls.push({ to: peer.address, join: false });
    }
    if (nowMs >= this.#nextReconnectMs) {
      this.#nextReconnectMs = nowMs + this.config.reconnectIntervalMs;
      this.#reconnect();
    }
  }

  /**
   * Tries a full-state exchange with one failed member, with probability failed/live (as
   * serf does), so the whole cluster makes about one attempt per interval. After a
   * partition heals this is what reconnects the sides.
   */
  #reconnect(): void {
    const failedCount = this.#table.deadCount;
    if (failedCount === 0) return;
    if (this.#random.next() > failedCount / this.#table.liveCount) return;
    const [failed] = this.#table.randomDead(1, () => true);
    if (failed !== undefined) this.#ready.pushPulls.push({ to: failed.address, join: false });
  }

  #tickReap(nowMs: number): void {
    if (nowMs < this.#nextReapMs) return;
    this.#nextReapMs = nowMs + this.config.reapIntervalMs;
    const expired: MemberRecord[] = [];
    for (const record of this.#table.others) {
      const ageMs = nowMs - record.statusChangeMs;
      if (
        (record.status === "dead" && ageMs >= this.config.reconnectTimeoutMs) ||
        (record.status === "left" && ageMs >= this.config.tombstoneTimeoutMs)
      ) expired.push(record);
    }
    for (const record of expired) {
      this.#table.remove(record);
      this.#forget(record);
    }
  }

  #forget(record: MemberRecord): void {
    this.#suspicions.delete(record.name);
    this.#rememberReaped(record);
  }

  #leaveDone(nowMs: number): boolean {
    // Once left, this node no longer counts itself live: a live count of 0 means nobody
    // is left to tell.
    return nowMs >= this.#leaveDeadlineMs || !this.#broadcasts.has(this.#self.name) ||
      this.#table.liveCount === 0;
  }

  #probeHost(): ProbeHost {
    return {
      config: this.config,
      table: this.#table,
      send: (to, messages) => this.#send(to, messages),
      probeFailed: (nowMs, target) => {
        const { name, incarnation } = target;
        this.#onSuspect(nowMs, { type: "suspect", name, incarnation, from: this.#self.name });
      },
    };
  }

  /** Sends `first` plus as many pending state changes as fit in one packet. */
  #send(to: string, first: Message[]): void {
    let sizeBytes = 0;
    for (const message of first) sizeBytes += messageSizeBytes(message);
    const budgetBytes = this.config.packetBytesMax - sealOverheadBytes - sizeBytes;
    const piggyback: StateMessage[] = [];
    const limit = retransmitLimit(this.config, this.#table.liveCount);
    sizeBytes += this.#broadcasts.take(budgetBytes, limit, piggyback);
    for (const message of piggyback) first.push(message);
    if (first.length === 0) return;
    this.#ready.packets.push({ to, messages: first, sizeBytes });
  }

  #emit(type: MembershipEventType, record: MemberRecord, nowMs: number): void {
    this.#ready.events.push({ type, member: snapshot(record), atMs: nowMs });
  }

  #aliveSelf(): AliveMessage {
    const { name, address, incarnation, tags } = this.#self;
    return { type: "alive", name, address, incarnation, tags };
  }

  #checkTags(tags: Tags): void {
    for (const key in tags) {
      checkWireString("tag key", key);
      checkWireString("tag value", tags[key] ?? "");
    }
    const sizeBytes = tagsSizeBytes(tags);
    if (sizeBytes > this.config.tagsBytesMax) {
      throw new DiscoveryError(
        "TOO_LARGE",
        `Cannot set tags of ${sizeBytes} bytes: at most ${this.config.tagsBytesMax}`,
      );
    }
  }

  #assertRunning(action: string): void {
    if (this.#status !== "running") {
      throw new DiscoveryError("CLOSED", `Cannot ${action}: the node is ${this.#status}`);
    }
  }
}
