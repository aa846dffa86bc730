/**
 * The member table of one node: records by name, O(1) random sampling of other members,
 * the live count `n` the protocol's formulas use, and the probe schedule (round-robin over
 * a shuffled list, fresh suspects first).
 * @module
 */

import type { MemberState, MemberStatus, Random, Tags } from "./_types.ts";

/** A member as this node currently sees it (mutable; snapshots go out). */
export interface MemberRecord {
  name: string;
  address: string;
  incarnation: number;
  status: MemberStatus;
  tags: Tags;
  statusChangeMs: number;
}

/** Alive or suspect: still probed, still counted in `n`. */
export function isLive(status: MemberStatus): boolean {
  return status === "alive" || status === "suspect";
}

/** An immutable copy for events and views. */
export function snapshot(record: MemberRecord): MemberState {
  return {
    name: record.name,
    address: record.address,
    incarnation: record.incarnation,
    status: record.status,
    tags: record.tags,
  };
}

/** Fisher–Yates in place with the injected randomness. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.intBelow(i + 1);
    const item = items[i] as T;
    items[i] = items[j] as T;
    items[j] = item;
  }
  return items;
}

/** Below this many members, random choice scans; above, it samples. */
const smallListMax = 32;

/** Records in a dense array, for O(1) insertion, removal and random picks. */
class DenseSet {
  readonly items: MemberRecord[] = [];
  readonly #slots = new Map<string, number>();

  add(record: MemberRecord): void {
    if (this.#slots.has(record.name)) return;
    this.#slots.set(record.name, this.items.length);
    this.items.push(record);
  }

  delete(record: MemberRecord): void {
    const slot = this.#slots.get(record.name);
    if (slot === undefined) return;
    const last = this.items.pop() as MemberRecord;
    if (last !== record) {
      this.items[slot] = last;
      this.#slots.set(last.name, slot);
    }
    this.#slots.delete(record.name);
  }

  /** Up to `count` distinct random records passing `accept`. */
  sample(random: Random, count: number, accept: (record: MemberRecord) => boolean): MemberRecord[] {
    if (this.items.length <= smallListMax) {
      return shuffle(random, this.items.filter(accept)).slice(0, count);
    }
    // Bounded sampling: O(count) draws instead of a scan of n members. The set holds only
    // candidates of the right kind, so tombstones never dilute the draws.
    const chosen: MemberRecord[] = [];
    const drawsMax = count * 8;
    for (let draw = 0; draw < drawsMax && chosen.length < count; draw++) {
      const record = this.items[random.intBelow(this.items.length)] as MemberRecord;
      if (accept(record) && !chosen.includes(record)) chosen.push(record);
    }
    return chosen;
  }
}

/** Records of every known member, this node included. */
export class MemberTable {
  readonly self: MemberRecord;
  readonly #random: Random;
  readonly #membersMax: number;
  readonly #members = new Map<string, MemberRecord>();
  /** Every other member, for scans (reaping, counting). */
  readonly #others = new DenseSet();
  /** Other members alive or suspect: what probes, gossip and push/pull sample from. */
  readonly #live = new DenseSet();
  /** Other members declared failed: what reconnects and gossip-to-the-dead sample from. */
  readonly #dead = new DenseSet();
  #liveCount = 1;
  #probeOrder: string[] = [];
  #probeIndex = 0;
  /** Suspects to probe before resuming the round-robin, each once per suspicion. */
  readonly #suspectsToProbe = new Set<string>();

  constructor(self: MemberRecord, random: Random, membersMax = Infinity) {
    this.self = self;
    this.#random = random;
    this.#membersMax = membersMax;
    this.#members.set(self.name, self);
  }

  /** Members alive or suspect, this node included while it runs. */
  get liveCount(): number {
    return this.#liveCount;
  }

  /** Every member but this node. */
  get others(): readonly MemberRecord[] {
    return this.#others.items;
  }

  get(name: string): MemberRecord | undefined {
    return this.#members.get(name);
  }

  has(name: string): boolean {
    return this.#members.has(name);
  }

  /** Every record, this node included. */
  all(): IterableIterator<MemberRecord> {
    return this.#members.values();
  }

  /**
   * Makes room for one more member when the table holds `membersMax`: evicts the oldest
   * tombstone and returns it (the caller remembers it as reaped); returns null when there
   * is room, and undefined when the table is full of live members (refuse the newcomer).
   */
  makeRoom(): MemberRecord | null | undefined {
    if (this.#members.size < this.#membersMax) return null;
    let oldest: MemberRecord | undefined;
    for (const record of this.#others.items) {
      if (isLive(record.status)) continue;
      if (oldest === undefined || record.statusChangeMs < oldest.statusChangeMs) oldest = record;
    }
    if (oldest !== undefined) this.remove(oldest);
    return oldest;
  }

  /** Adds a new member, at a random place of the probe order not yet visited. */
  add(record: MemberRecord): void {
    if (this.#members.size >= this.#membersMax) {
      throw new Error(`member table full (${this.#membersMax}): call makeRoom() first`);
    }
    this.#members.set(record.name, record);
    this.#others.add(record);
    this.#classify(record, false);
    if (isLive(record.status)) {
      this.#liveCount++;
      this.#enterProbeRound(record);
    }
  }

  /** Newcomers get probed within this round, but not by everyone at the same moment. */
  #enterProbeRound(record: MemberRecord): void {
    const unvisited = this.#probeOrder.length - this.#probeIndex;
    this.#probeOrder.splice(
      this.#probeIndex + this.#random.intBelow(unvisited + 1),
      0,
      record.name,
    );
  }

  /** Forgets a member (reaping). */
  remove(record: MemberRecord): void {
    if (this.#members.get(record.name) !== record || record === this.self) return;
    this.#others.delete(record);
    this.#live.delete(record);
    this.#dead.delete(record);
    this.#members.delete(record.name);
    this.#suspectsToProbe.delete(record.name);
    if (isLive(record.status)) this.#liveCount--;
  }

  /** Changes a status, keeping the live count and the sampling sets exact. */
  setStatus(record: MemberRecord, status: MemberStatus, nowMs: number): void {
    const wasLive = isLive(record.status);
    record.status = status;
    record.statusChangeMs = nowMs;
    if (wasLive !== isLive(status)) this.#liveCount += wasLive ? -1 : 1;
    if (status === "suspect") this.#suspectsToProbe.add(record.name);
    if (record !== this.self && this.#members.get(record.name) === record) {
      this.#classify(record, true);
      if (!wasLive && isLive(status)) this.#enterProbeRound(record);
    }
  }

  /** Up to `count` distinct random live (alive or suspect) other members passing `accept`. */
  randomMembers(count: number, accept: (record: MemberRecord) => boolean): MemberRecord[] {
    return this.#live.sample(this.#random, count, accept);
  }

  /** Up to `count` distinct random failed members passing `accept`. */
  randomDead(count: number, accept: (record: MemberRecord) => boolean): MemberRecord[] {
    return this.#dead.sample(this.#random, count, accept);
  }

  /** Failed members (status dead) currently known. */
  get deadCount(): number {
    return this.#dead.items.length;
  }

  /**
   * The next member to probe: a fresh suspect first (a direct look lets it refute even if
   * it missed the gossip), else the next live member of the shuffled round-robin.
   */
  nextProbeTarget(): MemberRecord | undefined {
    for (const name of this.#suspectsToProbe) {
      this.#suspectsToProbe.delete(name);
      const record = this.#members.get(name);
      if (record !== undefined && record.status === "suspect") return record;
    }
    // The rest of this round (it may hold members that failed since), then a fresh one.
    const attemptsMax = this.#probeOrder.length - this.#probeIndex + this.#live.items.length + 2;
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      if (this.#probeIndex >= this.#probeOrder.length) {
        if (this.#live.items.length === 0) return undefined;
        // A round covers live members only: tombstones would only cost skipped slots.
        this.#probeOrder = shuffle(this.#random, this.#live.items.map((record) => record.name));
        this.#probeIndex = 0;
      }
      const name = this.#probeOrder[this.#probeIndex++] as string;
      const record = this.#members.get(name);
      if (record !== undefined && record !== this.self && isLive(record.status)) return record;
    }
    return undefined;
  }

  #classify(record: MemberRecord, moved: boolean): void {
    if (moved) {
      this.#live.delete(record);
      this.#dead.delete(record);
    }
    if (isLive(record.status)) this.#live.add(record);
    else if (record.status === "dead") this.#dead.add(record);
  }
}
