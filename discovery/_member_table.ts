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

/** Records of every known member, this node included. */
export class MemberTable {
  readonly self: MemberRecord;
  readonly #random: Random;
  readonly #members = new Map<string, MemberRecord>();
  /** Other members in a dense array, for O(1) random picks; `#slots` maps name to index. */
  readonly #others: MemberRecord[] = [];
  readonly #slots = new Map<string, number>();
  #liveCount = 1;
  #probeOrder: string[] = [];
  #probeIndex = 0;
  /** Suspects to probe before resuming the round-robin, each once per suspicion. */
  readonly #suspectsToProbe = new Set<string>();

  constructor(self: MemberRecord, random: Random) {
    this.self = self;
    this.#random = random;
    this.#members.set(self.name, self);
  }

  /** Members alive or suspect, this node included while it runs. */
  get liveCount(): number {
    return this.#liveCount;
  }

  /** Every member but this node. */
  get others(): readonly MemberRecord[] {
    return this.#others;
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

  /** Adds a new member, at a random place of the probe order not yet visited. */
  add(record: MemberRecord): void {
    this.#members.set(record.name, record);
    this.#slots.set(record.name, this.#others.length);
    this.#others.push(record);
    if (isLive(record.status)) this.#liveCount++;
    // Newcomers get probed within this round, but not by everyone at the same moment.
    const unvisited = this.#probeOrder.length - this.#probeIndex;
    this.#probeOrder.splice(
      this.#probeIndex + this.#random.intBelow(unvisited + 1),
      0,
      record.name,
    );
  }

  /** Forgets a member (reaping). */
  remove(record: MemberRecord): void {
    const slot = this.#slots.get(record.name);
    if (slot === undefined) return;
    const last = this.#others.pop() as MemberRecord;
    if (last !== record) {
      this.#others[slot] = last;
      this.#slots.set(last.name, slot);
    }
    this.#slots.delete(record.name);
    this.#members.delete(record.name);
    this.#suspectsToProbe.delete(record.name);
    if (isLive(record.status)) this.#liveCount--;
  }

  /** Changes a status, keeping the live count exact. */
  setStatus(record: MemberRecord, status: MemberStatus, nowMs: number): void {
    const wasLive = isLive(record.status);
    record.status = status;
    record.statusChangeMs = nowMs;
    if (wasLive !== isLive(status)) this.#liveCount += wasLive ? -1 : 1;
    if (status === "suspect") this.#suspectsToProbe.add(record.name);
  }

  /** Up to `count` distinct random other members passing `accept`. */
  randomMembers(count: number, accept: (record: MemberRecord) => boolean): MemberRecord[] {
    if (this.#others.length <= smallListMax) {
      return shuffle(this.#random, this.#others.filter(accept)).slice(0, count);
    }
    // Bounded sampling: O(count) draws instead of a scan of n members.
    const chosen: MemberRecord[] = [];
    const drawsMax = count * 8;
    for (let draw = 0; draw < drawsMax && chosen.length < count; draw++) {
      const record = this.#others[this.#random.intBelow(this.#others.length)] as MemberRecord;
      if (accept(record) && !chosen.includes(record)) chosen.push(record);
    }
    return chosen;
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
    const attemptsMax = 2 * this.#others.length + 2;
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      if (this.#probeIndex >= this.#probeOrder.length) {
        if (this.#others.length === 0) return undefined;
        this.#probeOrder = shuffle(this.#random, this.#others.map((record) => record.name));
        this.#probeIndex = 0;
      }
      const name = this.#probeOrder[this.#probeIndex++] as string;
      const record = this.#members.get(name);
      if (record !== undefined && record !== this.self && isLive(record.status)) return record;
    }
    return undefined;
  }
}
