/**
 * A simulated cluster of production nodes: each runs the real {@linkcode RaftNode} driver and
 * {@linkcode PeerTransport} (frames through the real codec) on simulated timers, over a
 * {@linkcode SimNet} and a seeded {@linkcode SimDisk}. Nothing here reimplements the driver:
 * the simulator only owns time, the network, the disk and crashes.
 * @module
 */

import type { Entry } from "../../../log/mod.ts";
import {
  type Membership,
  PeerTransport,
  type RaftLogger,
  RaftNode,
  type RaftStatus,
  type RaftTimers,
} from "../../../raft/mod.ts";
import type { SeededRandom } from "../random.ts";
import { Checkers } from "./_checkers.ts";
import { type NetQuality, SimNet } from "./_net.ts";
import type { Scheduler } from "./_scheduler.ts";
import { SimDisk, SimEntryStore, SimMetaStore } from "./_store.ts";

/** Limits and timing of a world; every field is drawn from the seed. */
export interface NodeWorld {
  readonly tickMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly appendBytesMax: number;
  readonly inflightMessagesMax: number;
  readonly inflightBytesMax: number;
  readonly applyBytesMax: number;
  readonly uncommittedEntriesMax: number;
  readonly queueBytesMax: number;
  readonly queueMessagesMax: number;
  readonly connectTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly redialMs: number;
  readonly requestTimeoutMs: number;
  readonly diskLatencyMsMax: number;
  readonly driftMax: number;
}

/** Simulated timers of one node incarnation; `kill` silences all of them. */
class SimTimers implements RaftTimers {
  readonly #scheduler: Scheduler;
  readonly #drift: number;
  #alive = true;

  constructor(scheduler: Scheduler, drift: number) {
    this.#scheduler = scheduler;
    this.#drift = drift;
  }

  every(periodMs: number, run: () => void): () => void {
    let active = true;
    const next = () => {
      if (!active || !this.#alive) return;
      run();
      this.#scheduler.after(periodMs * this.#drift, next);
    };
    this.#scheduler.after(periodMs * this.#drift, next);
    return () => {
      active = false;
    };
  }

  after(delayMs: number, run: () => void): () => void {
    let active = true;
    this.#scheduler.after(delayMs * this.#drift, () => {
      if (active && this.#alive) run();
    });
    return () => {
      active = false;
    };
  }

  kill(): void {
    this.#alive = false;
  }
}

/** What the cluster reports to the workload. */
export interface NodeClusterHooks {
  onApplied(node: NodeSim, entry: Entry): void;
  onStart(node: NodeSim): void;
  onCrash(node: NodeSim): void;
}

/** One simulated server; `raft` is null while it is down. */
export class NodeSim {
  readonly id: string;
  readonly disk: SimDisk;
  readonly drift: number;
  raft: RaftNode | null = null;
  transport: PeerTransport | null = null;
  store: SimEntryStore | null = null;
  timers: SimTimers | null = null;
  generation = 0;
  /** Where this incarnation's next applied entry must start (null: not known yet). */
  expectedOffset: number | null = null;

  constructor(id: string, disk: SimDisk, drift: number) {
    this.id = id;
    this.disk = disk;
    this.drift = drift;
  }
}

/** The whole world of one run. */
export class NodeCluster {
  readonly scheduler: Scheduler;
  readonly checkers = new Checkers();
  readonly nodes = new Map<string, NodeSim>();
  readonly net: SimNet;
  readonly world: NodeWorld;
  hooks: NodeClusterHooks | null = null;
  warnings = 0;
  /** Called when a node restarts its log at a snapshot point (InstallSnapshot persisting). */
  onRestartAt: ((node: NodeSim) => void) | null = null;
  /** Wire the transport's onDrop straight into the driver, as its documentation suggests. */
  syncOnDrop = false;
  /** A node's bootstrap membership (default: every id a voter); joiners get an empty one. */
  bootstrapFor: ((id: string) => Membership) | null = null;
  readonly #random: SeededRandom;
  readonly #bootstrap: Membership;
  readonly #leaders = new Map<number, string>();

  constructor(
    scheduler: Scheduler,
    random: SeededRandom,
    ids: readonly string[],
    world: NodeWorld,
    quality: NetQuality,
  ) {
    this.scheduler = scheduler;
    this.#random = random;
    this.world = world;
    this.#bootstrap = { voters: ids.slice(), learners: [] };
    this.net = new SimNet(scheduler, random.fork(), quality);
    for (const id of ids) {
      const disk = new SimDisk(
        random.fork(),
        (delayMs, run) => scheduler.after(delayMs, run),
        world.diskLatencyMsMax,
      );
      const drift = 1 + (random.next() * 2 - 1) * world.driftMax;
      this.nodes.set(id, new NodeSim(id, disk, drift));
    }
  }

  /** Starts (or restarts) a node from what its disk durably holds. */
  start(node: NodeSim): void {
    if (node.raft !== null) return;
    const generation = ++node.generation;
    const alive = () => node.generation === generation && node.raft !== null;
    const timers = new SimTimers(this.scheduler, node.drift);
    const store = new SimEntryStore(node.disk, (index, nextOffset) => {
      // InstallSnapshot: entries up to `index` are skipped, not applied; offsets resume here.
      if (alive()) node.expectedOffset = nextOffset;
      this.onRestartAt?.(node);
      void index;
    });
    const meta = new SimMetaStore(node.disk);
    let raft: RaftNode | null = null;
    const transport = new PeerTransport({
      onMessage: (message) => raft?.step(message),
      dial: this.net.dialer(node.id, alive),
      nowMs: () => this.scheduler.nowMs,
      after: (delayMs, run) => timers.after(delayMs, run),
      // Deferred: the transport calls onDrop synchronously inside send(), i.e. inside the
      // driver's loop, and a synchronous reportUnreachable there starts a second loop that
      // appends out of order (found by this simulation; see SYNC_ON_DROP in node_run.ts).
      onDrop: (to) => {
        if (this.syncOnDrop) raft?.reportUnreachable(to);
        else queueMicrotask(() => raft?.reportUnreachable(to));
      },
      logger: this.#logger(node),
      queueBytesMax: this.world.queueBytesMax,
      queueMessagesMax: this.world.queueMessagesMax,
      connectTimeoutMs: this.world.connectTimeoutMs,
      writeTimeoutMs: this.world.writeTimeoutMs,
      redialMs: this.world.redialMs,
    });
    for (const peer of this.nodes.keys()) if (peer !== node.id) transport.setPeer(peer, peer);
    const w = this.world;
    raft = new RaftNode({
      id: node.id,
      store,
      meta,
      send: (message) => transport.send(message),
      bootstrap: this.bootstrapFor?.(node.id) ?? this.#bootstrap,
      tickMs: w.tickMs,
      requestTimeoutMs: w.requestTimeoutMs,
      random: this.#random.fork(),
      timers,
      logger: this.#logger(node),
      electionTimeoutTicks: w.electionTimeoutTicks,
      heartbeatTicks: w.heartbeatTicks,
      preVote: w.preVote,
      checkQuorum: w.checkQuorum,
      appendBytesMax: w.appendBytesMax,
      inflightMessagesMax: w.inflightMessagesMax,
      inflightBytesMax: w.inflightBytesMax,
      applyBytesMax: w.applyBytesMax,
      uncommittedEntriesMax: w.uncommittedEntriesMax,
      onApply: (entry) => {
        if (!alive()) return;
        this.checkers.onApply(this.scheduler.nowMs, node.id, entry, node.expectedOffset);
        node.expectedOffset = entry.baseOffset + entry.records.length;
        this.hooks?.onApplied(node, entry);
      },
    });
    node.raft = raft;
    node.transport = transport;
    node.store = store;
    node.timers = timers;
    node.expectedOffset = null;
    this.net.register({ id: node.id, accept: (stream) => transport.accept(stream), alive });
    this.hooks?.onStart(node);
  }

  /**
   * Power loss: the process is gone at once (no close, no flush), unsynced writes with it; its
   * connections reset. The abandoned objects can no longer reach the disk or the network.
   */
  crash(node: NodeSim): void {
    if (node.raft === null) return;
    node.generation++;
    node.timers?.kill();
    node.raft = null;
    node.transport = null;
    node.store = null;
    node.timers = null;
    this.net.unregister(node.id);
    node.disk.crash();
    this.hooks?.onCrash(node);
  }

  /**
   * Warnings (dropped connections, full queues) are the network faults doing their work and
   * are only counted; an error (a message the node failed to handle or to send) is a bug.
   */
  #logger(node: NodeSim): RaftLogger {
    return {
      warn: () => {
        this.warnings++;
      },
      error: (message, fields) => {
        this.checkers.violations.push(
          `t=${this.scheduler.nowMs}ms: ${node.id} logged an error: ${message} ${
            JSON.stringify(fields ?? {}).slice(0, 300)
          }`,
        );
      },
    };
  }

  /** Running nodes. */
  running(): NodeSim[] {
    return [...this.nodes.values()].filter((node) => node.raft !== null);
  }

  /** The running leader with the highest term, if any. */
  leader(): NodeSim | null {
    let best: NodeSim | null = null;
    let bestTerm = -1;
    for (const node of this.running()) {
      const status = node.raft?.status() as RaftStatus;
      if (status.role === "leader" && status.term > bestTerm) {
        [best, bestTerm] = [node, status.term];
      }
    }
    return best;
  }

  /** After every event: at most one leader per term (election safety). */
  observe(): void {
    for (const node of this.running()) {
      const status = (node.raft as RaftNode).status();
      if (status.role !== "leader") continue;
      const existing = this.#leaders.get(status.term);
      if (existing === undefined) this.#leaders.set(status.term, node.id);
      else if (existing !== node.id) {
        this.checkers.violations.push(
          `t=${this.scheduler.nowMs}ms: two leaders in term ${status.term}: ${existing} and ${node.id}`,
        );
      }
    }
  }

  /** Log matching over what every running node's store holds. */
  checkLogMatching(): void {
    const views = this.running().map((node) => {
      const store = node.store as SimEntryStore;
      return [node.id, {
        firstIndex: () => store.firstIndex(),
        lastIndex: () => store.lastIndex(),
        termAt: (index: number) => {
          try {
            return store.termAt(index);
          } catch {
            return null;
          }
        },
        entries: (from: number, to: number) => store.entries(from, to, Infinity),
      }] as const;
    });
    this.checkers.checkLogMatching(this.scheduler.nowMs, views);
  }
}
