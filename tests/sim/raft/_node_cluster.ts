/**
 * A simulated cluster of production nodes: each runs the real {@linkcode RaftNode} driver and
 * {@linkcode PeerTransport} (frames through the real codec) on simulated timers, over a
 * {@linkcode SimNet}, and keeps its Raft log in the production {@linkcode FileLog} and its
 * term, vote and membership in the production meta store (`openMetaStore`), both on the
 * node's own simulated disk ({@linkcode SimFs}, injected through `LogOptions.fs`, as the agent
 * lays them out: `<data>/log/` and `<data>/raft_state`). Nothing here reimplements the driver
 * or the storage: the simulator only owns time, the network, the disk and crashes.
 * @module
 */

import {
  type Entry,
  type FileLog,
  LogError,
  type MetaStore,
  openLog,
  openMetaStore,
} from "../../../log/mod.ts";
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
import { SimFs, type SimFsFaults } from "./_sim_fs.ts";

/** The data directory of every node (each node has its own disk). */
export const DATA_DIR = "/sim/data";
/** The agent's names: the Raft log's directory and the meta store's file under the data dir. */
export const LOG_DIR = `${DATA_DIR}/log`;
export const META_PATH = `${DATA_DIR}/raft_state`;

/** The file log's limits of a world, drawn from the seed (small: segments roll often). */
export interface NodeWorldLog {
  readonly segmentBytesMax: number;
  readonly indexBytesMax: number;
  readonly recordBytesMax: number;
  /** Largest entry the log takes; the node refuses larger proposals (`entryBytesMax`). */
  readonly batchBytesMax: number;
}

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
  readonly log: NodeWorldLog;
  /** Disk faults during the fault phase (none after it). */
  readonly diskFaults: SimFsFaults;
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

/** One simulated server; `raft` is null while it is down (or still opening its storage). */
export class NodeSim {
  readonly id: string;
  readonly disk: SimFs;
  readonly drift: number;
  raft: RaftNode | null = null;
  transport: PeerTransport | null = null;
  store: FileLog | null = null;
  timers: SimTimers | null = null;
  generation = 0;
  /** The process is opening its log and meta store (recovery); `raft` is set when done. */
  starting = false;
  /** The incarnation a disk fault hit (its storage failed: it must be restarted). */
  faultedGeneration = -1;
  /** Where this incarnation's next applied entry must start (null: not known yet). */
  expectedOffset: number | null = null;
  /** The highest index any incarnation applied: committed and durable here, never lost. */
  appliedMax = 0;

  constructor(id: string, disk: SimFs, drift: number) {
    this.id = id;
    this.disk = disk;
    this.drift = drift;
  }

  /** Up, or on its way up. */
  get alive(): boolean {
    return this.raft !== null || this.starting;
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
  /** Recovery events the file logs reported at open (damage found), by kind. */
  readonly recoveries = new Map<string, number>();
  /** Starts that failed on an injected disk fault (the process exits and is restarted). */
  failedStarts = 0;
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
      const disk = new SimFs(
        random.fork(),
        (ms) => new Promise((resolve) => scheduler.after(ms, resolve)),
      );
      disk.faults = { ...world.diskFaults };
      const drift = 1 + (random.next() * 2 - 1) * world.driftMax;
      this.nodes.set(id, new NodeSim(id, disk, drift));
    }
  }

  /**
   * Starts (or restarts) a node from what its disk durably holds: opens the file log and the
   * meta store (recovery takes simulated disk time; a crash can land inside it), then the
   * driver. A start that fails on an injected disk fault is retried later by `onFailedStart`.
   */
  start(node: NodeSim): void {
    if (node.alive) return;
    const generation = ++node.generation;
    node.starting = true;
    this.#open(node, generation).catch((error) => {
      if (node.generation !== generation) return; // crashed while opening: nothing to do
      node.starting = false;
      if (isInjected(error)) {
        this.failedStarts++;
        node.faultedGeneration = generation;
        this.onFailedStart?.(node);
        return;
      }
      this.checkers.violations.push(
        `t=${this.scheduler.nowMs}ms: ${node.id} cannot restart: ${String(error).slice(0, 300)}`,
      );
    });
  }

  /** Called when a start failed on an injected disk fault (the supervisor restarts it). */
  onFailedStart: ((node: NodeSim) => void) | null = null;

  async #open(node: NodeSim, generation: number): Promise<void> {
    const fs = node.disk.process();
    const w = this.world;
    await fs.mkdir(DATA_DIR, { recursive: true });
    const log = await openLog(LOG_DIR, {
      segmentBytesMax: w.log.segmentBytesMax,
      indexBytesMax: w.log.indexBytesMax,
      recordBytesMax: w.log.recordBytesMax,
      batchBytesMax: w.log.batchBytesMax,
      clock: () => this.scheduler.nowMs,
      observer: {
        onRecovery: (event) => {
          this.recoveries.set(event.kind, (this.recoveries.get(event.kind) ?? 0) + 1);
        },
      },
      fs,
    });
    const meta = await openMetaStore(META_PATH, fs);
    if (node.generation !== generation) return;
    node.starting = false;
    this.#launch(node, generation, log, meta);
  }

  #launch(node: NodeSim, generation: number, log: FileLog, meta: MetaStore): void {
    // An applied entry was committed and durable in this node's log before it was applied:
    // what a restart finds must reach it (a later snapshot point only moves the log forward).
    if (log.lastIndex() < node.appliedMax) {
      this.checkers.violations.push(
        `t=${this.scheduler.nowMs}ms: ${node.id} restarted with its log ending at ${log.lastIndex()} but it had applied ${node.appliedMax}`,
      );
    }
    const alive = () => node.generation === generation && node.raft !== null;
    const timers = new SimTimers(this.scheduler, node.drift);
    const store = observeRestarts(log, {
      // InstallSnapshot is several writes (meta store, restart marker, new segment): the
      // simulator may crash the node inside them.
      starting: () => this.onRestartAt?.(node),
      // The log restarted at the snapshot point: entries up to it are skipped, not applied,
      // so applied offsets resume at its next offset.
      done: (nextOffset) => {
        if (alive()) node.expectedOffset = nextOffset;
      },
    });
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
      // As the agent does: a proposal the log would refuse is refused before it is appended.
      entryBytesMax: w.log.batchBytesMax,
      onApply: (entry) => {
        if (!alive()) return;
        this.checkers.onApply(this.scheduler.nowMs, node.id, entry, node.expectedOffset);
        node.expectedOffset = entry.baseOffset + entry.records.length;
        node.appliedMax = Math.max(node.appliedMax, entry.index);
        this.hooks?.onApplied(node, entry);
      },
    });
    node.raft = raft;
    node.transport = transport;
    node.store = log;
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
    if (!node.alive) return;
    node.generation++;
    node.starting = false;
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
   * are only counted, and so is a node stopping on its failed disk (`STORAGE_FAILED`: the disk
   * faults doing theirs); any other error (a message the node failed to handle or to send) is a bug.
   */
  #logger(node: NodeSim): RaftLogger {
    return {
      warn: () => {
        this.warnings++;
      },
      error: (message, fields) => {
        if (fields?.code === "STORAGE_FAILED") {
          this.warnings++;
          return;
        }
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
      const store = node.store as FileLog;
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

/** A fault the simulated disk injected (EIO / ENOSPC), as opposed to a bug. */
export function isInjected(error: unknown): boolean {
  return error instanceof Error && /^(EIO|ENOSPC): /.test(error.message);
}

/** A storage error a node reports once its disk failed (fail-stop), not a bug. */
export function isStorageFailure(error: unknown): boolean {
  return isInjected(error) || (error instanceof LogError && error.code === "CLOSED");
}

/**
 * The log as the driver sees it, with `restartAt` observed (the simulator must know when the
 * applied offsets jump). Every call goes to the FileLog itself.
 */
function observeRestarts(
  log: FileLog,
  on: { starting(): void; done(nextOffset: number): void },
): FileLog {
  return new Proxy(log, {
    get(target, property) {
      if (property === "restartAt") {
        return async (index: number, term: number, nextOffset: number) => {
          on.starting();
          await target.restartAt(index, term, nextOffset);
          on.done(nextOffset);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
