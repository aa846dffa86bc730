/**
 * A simulated Raft cluster: nodes (core + seeded disk + drifting clock), a seeded network
 * (drop, delay, duplicate, reorder, partitions and one-way cuts), and the driver loop every
 * node runs: persist the Ready, then send, apply and serve reads, then advance.
 * @module
 */

import { type Entry, EntryKind } from "../../../log/mod.ts";
import {
  decodeFrame,
  decodePersistentState,
  encodeFrame,
  encodePersistentState,
  type Membership,
  type Message,
  RaftCore,
  type Ready,
} from "../../../raft/mod.ts";
import type { SeededRandom } from "../random.ts";
import { Checkers } from "./_checkers.ts";
import { Scheduler } from "./_scheduler.ts";
import { SimDisk, SimEntryStore, SimMetaStore } from "./_store.ts";

/** Knobs of the simulated world. */
export interface WorldOptions {
  readonly tickMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Disk writes take up to tens of ms (widens the window of unsynced data). */
  readonly diskSlow: boolean;
  /** Message loss and duplication probabilities (changed by the fault schedule). */
  dropRate: number;
  duplicateRate: number;
  readonly delayMsMin: number;
  readonly delayMsMax: number;
  /** Clock drift: each node's tick period is tickMs × (1 ± driftMax). */
  readonly driftMax: number;
}

/** What the driver loop reports to the workload. */
export interface NodeHooks {
  onApplied(node: SimNode, entry: Entry): void;
  onReadState(node: SimNode, readId: string, index: number): void;
  onCrash(node: SimNode): void;
}

/** One simulated node. `core` is null while the node is down. */
export class SimNode {
  readonly id: string;
  readonly disk: SimDisk;
  core: RaftCore | null = null;
  /** The stores opened over `disk` by the current incarnation. */
  stores: { entries: SimEntryStore; meta: SimMetaStore } | null = null;
  generation = 0;
  persisting = false;
  wasLeader = false;
  /** Offset following the last applied entry (null until the first apply after a start). */
  appliedNextOffset: number | null = null;
  appliedIndex = 0;
  readonly drift: number;

  constructor(id: string, disk: SimDisk, drift: number) {
    this.id = id;
    this.disk = disk;
    this.drift = drift;
  }
}

/** The whole simulated world. */
export class SimCluster {
  readonly scheduler = new Scheduler();
  readonly checkers = new Checkers();
  readonly nodes = new Map<string, SimNode>();
  /** Directed cuts "a>b": messages from a to b are lost. */
  readonly cuts = new Set<string>();
  readonly world: WorldOptions;
  hooks: NodeHooks | null = null;
  messagesSent = 0;
  readonly #random: SeededRandom;
  readonly #bootstrap: Membership;

  constructor(random: SeededRandom, ids: readonly string[], world: WorldOptions) {
    this.#random = random;
    this.world = world;
    this.#bootstrap = { voters: ids.slice(), learners: [] };
    for (const id of ids) {
      const diskRandom = random.fork();
      const drift = 1 + (random.next() * 2 - 1) * world.driftMax;
      const disk = new SimDisk(
        diskRandom,
        (delayMs, run) => this.scheduler.after(delayMs, run),
        world.diskSlow ? 60 : 2,
      );
      this.nodes.set(id, new SimNode(id, disk, drift));
    }
  }

  /** Starts (or restarts) a node from what its disk durably holds. */
  start(node: SimNode): void {
    const store = new SimEntryStore(node.disk);
    const meta = new SimMetaStore(node.disk);
    const saved = meta.load();
    node.stores = { entries: store, meta };
    node.generation++;
    node.persisting = false;
    node.wasLeader = false;
    node.appliedNextOffset = null;
    node.appliedIndex = 0;
    node.core = new RaftCore({
      id: node.id,
      store,
      random: this.#random.fork(),
      persisted: saved === null ? null : decodePersistentState(saved),
      bootstrap: this.#bootstrap,
      electionTimeoutTicks: this.world.electionTimeoutTicks,
      heartbeatTicks: this.world.heartbeatTicks,
      preVote: this.world.preVote,
      checkQuorum: this.world.checkQuorum,
    });
    this.#scheduleTick(node, node.generation);
    this.process(node);
  }

  /** Power loss: the process is gone and unsynced writes with it. */
  crash(node: SimNode): void {
    if (node.core === null) return;
    node.generation++;
    node.core = null;
    node.stores = null;
    node.disk.crash();
    this.hooks?.onCrash(node);
  }

  /** Running nodes with their cores. */
  running(): [string, RaftCore][] {
    const result: [string, RaftCore][] = [];
    for (const node of this.nodes.values()) {
      if (node.core !== null) result.push([node.id, node.core]);
    }
    return result;
  }

  /** The running leader with the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const node of this.nodes.values()) {
      const status = node.core?.status();
      if (status?.role !== "leader") continue;
      if (best === null || status.term > (best.core?.status().term ?? 0)) best = node;
    }
    return best;
  }

  #scheduleTick(node: SimNode, generation: number): void {
    this.scheduler.after(this.world.tickMs * node.drift, () => {
      if (node.generation !== generation || node.core === null) return;
      node.core.tick();
      this.process(node);
      this.#scheduleTick(node, generation);
    });
  }

  /** The driver loop: one Ready at a time, persisted before anything leaves the node. */
  process(node: SimNode): void {
    const core = node.core;
    if (core === null) return;
    this.#observeRole(node, core);
    if (node.persisting || !core.hasReady()) return;
    const ready = core.ready();
    node.persisting = true;
    const generation = node.generation;
    this.#persist(node, ready);
    node.disk.whenDrained(() => {
      if (node.generation !== generation) return;
      for (const message of ready.messages) this.send(message);
      for (const entry of ready.committed) this.#apply(node, entry);
      for (const read of ready.readStates) this.hooks?.onReadState(node, read.readId, read.index);
      core.advance(ready);
      node.persisting = false;
      this.process(node);
    });
  }

  #persist(node: SimNode, ready: Ready): void {
    const store = node.stores;
    if (store === null) throw new Error(`node ${node.id} persists without open stores`);
    const { restart, truncateFrom, entries } = ready.persist;
    if (restart !== null) {
      // As the driver: the snapshot's state (with the restart point) before the restart.
      if (ready.state !== null) store.meta.save(encodePersistentState(ready.state));
      store.entries.restartAt(restart.index, restart.term, restart.nextOffset);
      // The entries before the restart point are skipped, not applied: offsets resume there.
      node.appliedNextOffset = restart.nextOffset;
      node.appliedIndex = restart.index;
    }
    if (truncateFrom !== null) store.entries.truncateSuffix(truncateFrom);
    if (ready.state !== null && restart === null) {
      store.meta.save(encodePersistentState(ready.state));
    }
    if (entries.length > 0) store.entries.appendEntries(entries);
  }

  #apply(node: SimNode, entry: Entry): void {
    this.checkers.onApply(this.scheduler.nowMs, node.id, entry, node.appliedNextOffset);
    node.appliedNextOffset = entry.baseOffset + entry.records.length;
    node.appliedIndex = entry.index;
    this.hooks?.onApplied(node, entry);
  }

  #observeRole(node: SimNode, core: RaftCore): void {
    const status = core.status();
    const isLeader = status.role === "leader";
    if (isLeader && !node.wasLeader) {
      this.checkers.onLeader(this.scheduler.nowMs, node.id, status.term, core);
    }
    if (isLeader) this.checkers.onLeaderCommit(status.term, core);
    node.wasLeader = isLeader;
  }

  /** The network: cuts, loss, duplication and random delays (which also reorder). */
  send(original: Message): void {
    this.messagesSent++;
    // Every message crosses the wire codec, so the simulation exercises it too.
    const message = decodeFrame(encodeFrame(original));
    if (this.cuts.has(`${message.from}>${message.to}`)) return;
    if (this.#random.chance(this.world.dropRate)) return;
    const copies = this.#random.chance(this.world.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delayMs = this.#random.intBetween(this.world.delayMsMin, this.world.delayMsMax);
      if (this.#random.chance(0.02)) delayMs += this.#random.intBetween(50, 400);
      this.scheduler.after(delayMs, () => this.#deliver(message));
    }
  }

  #deliver(message: Message): void {
    const node = this.nodes.get(message.to);
    if (node?.core === null || node === undefined) return;
    node.core.step(message);
    this.process(node);
  }

  /** Whether an entry kind carries records (for the workload). */
  static isRecords(entry: Entry): boolean {
    return entry.kind === EntryKind.Records;
  }
}
